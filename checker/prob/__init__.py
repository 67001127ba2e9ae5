"""The probabilistic reading of the product: a Markov decision process whose deliveries
lose their segment with a loss rate, solved for the least and the most probability (or
expectation) over schedulers -- exactly where the MDP is acyclic, by interval iteration
where it is not.

* :mod:`checker.prob.rates` -- loss classes and loss rates;
* :mod:`checker.prob.mdp` -- the MDP built from an exploration;
* :mod:`checker.prob.solve` -- backward induction and interval iteration;
* :mod:`checker.prob.questions` -- questions, their solver tasks and their answers.
"""
