# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""The compiled breadth-first search over the flattened tables.

The same loop as :func:`checker.product.search.python_search`, statement for statement
(the tests compare the two edge for edge): a state is four unsigned 32-bit words, the
visited set an open-addressing table of node ids, the edges three growable arrays.
The product's rules stay in Python: a table row the loop has not met yet is asked of
:class:`checker.product.flat.FlatTables` once and kept here as integers.
"""

from cpython cimport array
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, int64_t, uint16_t, uint32_t, uint64_t
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec

import array as pyarray

cdef uint64_t EMPTY = 0xFFFFFFFFFFFFFFFFULL


cdef inline uint64_t mix(uint64_t x) nogil:
    # splitmix64's finalizer: every input bit reaches every output bit.
    x ^= x >> 30
    x *= 0xBF58476D1CE4E5B9ULL
    x ^= x >> 27
    x *= 0x94D049BB133111EBULL
    x ^= x >> 31
    return x


cdef class _Map:
    """uint64 key -> int64 value, open addressing (a memo of table rows)."""

    cdef uint64_t* keys
    cdef int64_t* vals
    cdef uint64_t mask
    cdef uint64_t n

    def __cinit__(self):
        self.mask = 63
        self.n = 0
        self.keys = <uint64_t*> PyMem_Malloc(64 * sizeof(uint64_t))
        self.vals = <int64_t*> PyMem_Malloc(64 * sizeof(int64_t))
        if self.keys == NULL or self.vals == NULL:
            raise MemoryError()
        cdef uint64_t i
        for i in range(64):
            self.keys[i] = EMPTY

    def __dealloc__(self):
        PyMem_Free(self.keys)
        PyMem_Free(self.vals)

    cdef inline int64_t get(self, uint64_t key, int64_t missing):
        cdef uint64_t h = mix(key) & self.mask
        while True:
            if self.keys[h] == key:
                return self.vals[h]
            if self.keys[h] == EMPTY:
                return missing
            h = (h + 1) & self.mask

    cdef int put(self, uint64_t key, int64_t val) except -1:
        cdef uint64_t h
        if (self.n + 1) * 2 > self.mask + 1:
            self._grow()
        h = mix(key) & self.mask
        while self.keys[h] != EMPTY and self.keys[h] != key:
            h = (h + 1) & self.mask
        if self.keys[h] == EMPTY:
            self.n += 1
        self.keys[h] = key
        self.vals[h] = val
        return 0

    cdef int _grow(self) except -1:
        cdef uint64_t old_size = self.mask + 1
        cdef uint64_t size = old_size * 2
        cdef uint64_t* old_keys = self.keys
        cdef int64_t* old_vals = self.vals
        cdef uint64_t i, h
        cdef uint64_t* keys = <uint64_t*> PyMem_Malloc(size * sizeof(uint64_t))
        cdef int64_t* vals = <int64_t*> PyMem_Malloc(size * sizeof(int64_t))
        if keys == NULL or vals == NULL:
            PyMem_Free(keys)
            PyMem_Free(vals)
            raise MemoryError()
        for i in range(size):
            keys[i] = EMPTY
        for i in range(old_size):
            if old_keys[i] != EMPTY:
                h = mix(old_keys[i]) & (size - 1)
                while keys[h] != EMPTY:
                    h = (h + 1) & (size - 1)
                keys[h] = old_keys[i]
                vals[h] = old_vals[i]
        self.keys = keys
        self.vals = vals
        self.mask = size - 1
        PyMem_Free(old_keys)
        PyMem_Free(old_vals)
        return 0


cdef class _Pool:
    """Table rows as one growable int32 buffer: a row is its length, then its entries."""

    cdef int32_t* data
    cdef int64_t n
    cdef int64_t cap

    def __cinit__(self):
        self.cap = 1024
        self.n = 0
        self.data = <int32_t*> PyMem_Malloc(self.cap * sizeof(int32_t))
        if self.data == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.data)

    cdef int64_t add_rows(self, list rows, int width) except -1:
        """Append a row of ``rows`` (tuples of ``width`` ints); return its offset."""
        cdef int64_t need = self.n + 1 + len(rows) * width
        cdef int64_t cap = self.cap
        cdef int32_t* grown
        cdef int64_t at = self.n
        cdef int k
        while cap < need:
            cap *= 2
        if cap != self.cap:
            grown = <int32_t*> PyMem_Realloc(self.data, cap * sizeof(int32_t))
            if grown == NULL:
                raise MemoryError()
            self.data = grown
            self.cap = cap
        self.data[at] = len(rows)
        self.n = at + 1
        for row in rows:
            for k in range(width):
                self.data[self.n] = row[k]
                self.n += 1
        return at


cdef inline double now() nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec + ts.tv_nsec * 1e-9


cdef inline uint64_t state_hash(uint32_t* w) nogil:
    return mix(
        (<uint64_t> w[0] | (<uint64_t> w[1] << 32))
        ^ mix(<uint64_t> w[2] | (<uint64_t> w[3] << 32))
    )


cdef class _Visited:
    """The visited set: open addressing over the node array.  A slot holds a node id + 1
    (0: empty) and, above it, the high half of the node's hash, so that a probe reads
    the node itself only when the halves agree."""

    cdef uint64_t* slots
    cdef uint64_t mask
    cdef uint64_t n

    def __cinit__(self):
        self.mask = (1 << 12) - 1
        self.n = 0
        self.slots = <uint64_t*> PyMem_Calloc(self.mask + 1, sizeof(uint64_t))
        if self.slots == NULL:
            raise MemoryError()

    def __dealloc__(self):
        PyMem_Free(self.slots)

    cdef int grow(self, uint32_t* nodes) except -1:
        cdef uint64_t size = (self.mask + 1) * 2
        cdef uint64_t* slots = <uint64_t*> PyMem_Calloc(size, sizeof(uint64_t))
        cdef uint64_t i, h, s
        if slots == NULL:
            raise MemoryError()
        for i in range(self.mask + 1):
            s = self.slots[i]
            if s:
                h = state_hash(nodes + 4 * ((s & 0xFFFFFFFFULL) - 1)) & (size - 1)
                while slots[h]:
                    h = (h + 1) & (size - 1)
                slots[h] = s
        PyMem_Free(self.slots)
        self.slots = slots
        self.mask = size - 1
        return 0


cdef class _Growing:
    """A typed view over a growable ``array.array`` (re-read after every resize)."""

    cdef array.array arr
    cdef Py_ssize_t n

    def __cinit__(self, str code):
        self.arr = pyarray.array(code)
        self.n = 0

    cdef int reserve(self, Py_ssize_t extra) except -1:
        cdef Py_ssize_t need = self.n + extra
        cdef Py_ssize_t size = len(self.arr)
        if need > size:
            size = max(need, size + (size >> 1) + 1024)
            array.resize(self.arr, size)
        return 0

    cdef object done(self):
        array.resize(self.arr, self.n)
        return self.arr


def compiled_search(object flat, dict params):
    """Search the product whose rows ``flat`` gives (see the module docstring).

    ``params`` is the one :func:`checker.product.search.search_params` builds; the result
    is the dict :func:`checker.product.search.python_search` returns.
    """
    cdef bint drop_overflow = params["drop_overflow"]
    cdef bint quiet = params["quiet"]
    cdef bint any_loss = params["any_loss"]
    cdef bint loss_on = params["loss_on"]
    cdef bint dup_on = params["dup_on"]
    cdef uint32_t lost_one = params["lost_one"]
    cdef uint32_t attack_budget = params["attack_budget"]
    cdef int64_t cap = params["cap"]
    cdef object deadline_obj = params["deadline"]
    cdef double deadline = deadline_obj if deadline_obj is not None else -1.0
    cdef object progress = params["progress"]
    cdef int progress_every = params["progress_every"]
    cdef bint may_lose[16]
    cdef bint may_dup[16]
    cdef int k
    for k in range(16):
        may_lose[k] = params["may_lose"][k]
        may_dup[k] = params["may_dup"][k]

    # Memos of rows: key -> offset in a pool (or, for pushes, the channel itself).
    cdef _Map m_items_a = _Map(), m_items_b = _Map(), m_push_a = _Map(), m_push_b = _Map()
    cdef _Map m_over = _Map(), m_quiet = _Map(), m_loss = _Map(), m_dup = _Map()
    cdef _Map m_attack = _Map()
    cdef _Pool pool = _Pool()

    cdef _Growing nodes = _Growing("I")
    cdef _Growing offsets = _Growing("I")
    cdef _Growing dst = _Growing("I")
    cdef _Growing lbl = _Growing("H")
    cdef _Visited seen = _Visited()
    cdef list deadlocks = []
    cdef list blocked_dead = []
    cdef int64_t waits = 0
    cdef object limit = None

    # Successors of the state being expanded: four words and a label each.
    cdef Py_ssize_t succ_cap = 256
    cdef uint32_t* succ = <uint32_t*> PyMem_Malloc(succ_cap * 5 * sizeof(uint32_t))
    cdef uint32_t* grown_succ
    if succ == NULL:
        raise MemoryError()

    cdef int64_t i = 0, level_end = 1, depth = 0, j, n_succ, e, off, cnt, r
    cdef uint32_t w0, w1, w2, w3, a, b, ab, ba, new, new_in, oid, lab, pc, lk, z
    cdef uint32_t* rows
    cdef uint32_t* node
    cdef uint32_t* sw
    cdef uint64_t h, key, full, tag
    cdef uint64_t slot
    cdef int64_t v
    cdef bint blocked
    cdef int side
    cdef uint32_t me, chan, shift_keep

    nodes.reserve(4)
    nodes.arr.data.as_uints[0] = params["init"][0]
    nodes.arr.data.as_uints[1] = params["init"][1]
    nodes.arr.data.as_uints[2] = params["init"][2]
    nodes.arr.data.as_uints[3] = params["init"][3]
    nodes.n = 4
    h = state_hash(nodes.arr.data.as_uints)
    seen.slots[h & seen.mask] = ((h >> 32) << 32) | 1
    seen.n = 1
    offsets.reserve(1)
    offsets.arr.data.as_uints[0] = 0
    offsets.n = 1

    try:
        while i < nodes.n // 4:
            if i == level_end:
                depth += 1
                level_end = nodes.n // 4
            if (i & 1023) == 0 and i:
                PyErr_CheckSignals()
                if deadline >= 0 and now() > deadline:
                    limit = "max-seconds"
                    break
                if progress is not None and (i % progress_every) == 0:
                    progress(nodes.n // 4, dst.n, depth)
            node = nodes.arr.data.as_uints + 4 * i
            w0 = node[0]
            w1 = node[1]
            w2 = node[2]
            w3 = node[3]
            a = w0 & 0xFFFF
            b = w0 >> 16
            ab = w1
            ba = w2
            n_succ = 0
            blocked = False

            # Endpoint A: its local state and B->A decide the move; A->B takes its sends.
            key = (<uint64_t> a << 32) | ba
            off = m_items_a.get(key, -1)
            if off < 0:
                off = pool.add_rows(flat.items(0, a, ba), 4)
                m_items_a.put(key, off)
            cnt = pool.data[off]
            for r in range(cnt):
                rows = <uint32_t*> (pool.data + off + 1 + 4 * r)
                new = rows[0]
                new_in = rows[1]
                oid = rows[2]
                lab = rows[3]
                pc = ab
                if oid:
                    key = (<uint64_t> ab << 16) | oid
                    v = m_push_a.get(key, -2)
                    if v == -2:
                        v = flat.push(0, ab, oid)
                        m_push_a.put(key, v)
                    if v < 0:
                        if not drop_overflow:
                            blocked = True
                            continue
                        key = (<uint64_t> ab << 33) | (<uint64_t> oid << 17) | (<uint64_t> lab << 1)
                        v = m_over.get(key, -1)
                        if v < 0:
                            over = flat.overflow(0, ab, oid, lab)
                            v = (<int64_t> over[0] << 16) | <int64_t> over[1]
                            m_over.put(key, v)
                        lab = v & 0xFFFF
                        v = v >> 16
                    pc = <uint32_t> v
                if n_succ == succ_cap:
                    succ_cap *= 2
                    grown_succ = <uint32_t*> PyMem_Realloc(succ, succ_cap * 5 * sizeof(uint32_t))
                    if grown_succ == NULL:
                        raise MemoryError()
                    succ = grown_succ
                sw = succ + 5 * n_succ
                sw[0] = new | (b << 16)
                sw[1] = pc
                sw[2] = new_in
                sw[3] = w3
                sw[4] = lab
                n_succ += 1

            # Endpoint B, symmetrically.
            key = (<uint64_t> b << 32) | ab
            off = m_items_b.get(key, -1)
            if off < 0:
                off = pool.add_rows(flat.items(1, b, ab), 4)
                m_items_b.put(key, off)
            cnt = pool.data[off]
            for r in range(cnt):
                rows = <uint32_t*> (pool.data + off + 1 + 4 * r)
                new = rows[0]
                new_in = rows[1]
                oid = rows[2]
                lab = rows[3]
                pc = ba
                if oid:
                    key = (<uint64_t> ba << 16) | oid
                    v = m_push_b.get(key, -2)
                    if v == -2:
                        v = flat.push(1, ba, oid)
                        m_push_b.put(key, v)
                    if v < 0:
                        if not drop_overflow:
                            blocked = True
                            continue
                        key = (<uint64_t> ba << 33) | (<uint64_t> oid << 17) | (<uint64_t> lab << 1) | 1
                        v = m_over.get(key, -1)
                        if v < 0:
                            over = flat.overflow(1, ba, oid, lab)
                            v = (<int64_t> over[0] << 16) | <int64_t> over[1]
                            m_over.put(key, v)
                        lab = v & 0xFFFF
                        v = v >> 16
                    pc = <uint32_t> v
                if n_succ == succ_cap:
                    succ_cap *= 2
                    grown_succ = <uint32_t*> PyMem_Realloc(succ, succ_cap * 5 * sizeof(uint32_t))
                    if grown_succ == NULL:
                        raise MemoryError()
                    succ = grown_succ
                sw = succ + 5 * n_succ
                sw[0] = a | (new << 16)
                sw[1] = new_in
                sw[2] = pc
                sw[3] = w3
                sw[4] = lab
                n_succ += 1

            # The expiries that wait for quiescence: both channels empty.
            if quiet and ab == 0 and ba == 0:
                off = m_quiet.get(w0, -1)
                if off < 0:
                    off = pool.add_rows(flat.quiet(a, b), 4)
                    m_quiet.put(w0, off)
                cnt = pool.data[off]
                if n_succ + cnt > succ_cap:
                    succ_cap = 2 * (n_succ + cnt)
                    grown_succ = <uint32_t*> PyMem_Realloc(succ, succ_cap * 5 * sizeof(uint32_t))
                    if grown_succ == NULL:
                        raise MemoryError()
                    succ = grown_succ
                for r in range(cnt):
                    rows = <uint32_t*> (pool.data + off + 1 + 4 * r)
                    sw = succ + 5 * n_succ
                    if rows[0] == 0:
                        sw[0] = rows[1] | (b << 16)
                        sw[1] = rows[2]
                        sw[2] = 0
                    else:
                        sw[0] = a | (rows[1] << 16)
                        sw[1] = 0
                        sw[2] = rows[2]
                    sw[3] = w3
                    sw[4] = rows[3]
                    n_succ += 1

            # The network: losses, then duplications, of what is in flight.
            if ab or ba:
                for k in range(2):
                    if k == 0:
                        if not (any_loss or (loss_on and may_lose[w3 & 15])):
                            continue
                    elif not (dup_on and may_dup[(w3 >> 4) & 15]):
                        continue
                    for side in range(2):
                        chan = ab if side == 0 else ba
                        key = (<uint64_t> chan << 1) | <uint64_t> side
                        if k == 0:
                            off = m_loss.get(key, -1)
                            if off < 0:
                                off = pool.add_rows(flat.losses(side, chan), 2)
                                m_loss.put(key, off)
                        else:
                            off = m_dup.get(key, -1)
                            if off < 0:
                                off = pool.add_rows(flat.dups(side, chan), 2)
                                m_dup.put(key, off)
                        cnt = pool.data[off]
                        if n_succ + cnt > succ_cap:
                            succ_cap = 2 * (n_succ + cnt)
                            grown_succ = <uint32_t*> PyMem_Realloc(
                                succ, succ_cap * 5 * sizeof(uint32_t)
                            )
                            if grown_succ == NULL:
                                raise MemoryError()
                            succ = grown_succ
                        for r in range(cnt):
                            rows = <uint32_t*> (pool.data + off + 1 + 2 * r)
                            sw = succ + 5 * n_succ
                            sw[0] = w0
                            sw[1] = rows[0] if side == 0 else ab
                            sw[2] = ba if side == 0 else rows[0]
                            sw[3] = w3 + (lost_one if k == 0 else 16)
                            sw[4] = rows[1]
                            n_succ += 1

            # The attacker's forged segments, while its budget lasts.
            if attack_budget and (w3 >> 8) < attack_budget:
                for side in range(2):
                    me = a if side == 0 else b
                    chan = ab if side == 0 else ba
                    key = (<uint64_t> me << 33) | (<uint64_t> chan << 1) | <uint64_t> side
                    off = m_attack.get(key, -1)
                    if off < 0:
                        off = pool.add_rows(flat.attacks(side, me, chan), 3)
                        m_attack.put(key, off)
                    cnt = pool.data[off]
                    if n_succ + cnt > succ_cap:
                        succ_cap = 2 * (n_succ + cnt)
                        grown_succ = <uint32_t*> PyMem_Realloc(succ, succ_cap * 5 * sizeof(uint32_t))
                        if grown_succ == NULL:
                            raise MemoryError()
                        succ = grown_succ
                    for r in range(cnt):
                        rows = <uint32_t*> (pool.data + off + 1 + 3 * r)
                        sw = succ + 5 * n_succ
                        if side == 0:
                            sw[0] = rows[0] | (b << 16)
                            sw[1] = rows[1]
                            sw[2] = ba
                        else:
                            sw[0] = a | (rows[0] << 16)
                            sw[1] = ab
                            sw[2] = rows[1]
                        sw[3] = w3 + 256
                        sw[4] = rows[2]
                        n_succ += 1

            if blocked:
                waits += 1
            if n_succ == 0:
                deadlocks.append(i)
                if blocked:
                    blocked_dead.append(i)

            dst.reserve(n_succ)
            lbl.reserve(n_succ)
            for e in range(n_succ):
                sw = succ + 5 * e
                full = state_hash(sw)
                tag = (full >> 32) << 32
                h = full & seen.mask
                while True:
                    slot = seen.slots[h]
                    if slot == 0:
                        break
                    if (slot & 0xFFFFFFFF00000000ULL) == tag:
                        node = nodes.arr.data.as_uints + 4 * ((slot & 0xFFFFFFFFULL) - 1)
                        if (
                            node[0] == sw[0] and node[1] == sw[1]
                            and node[2] == sw[2] and node[3] == sw[3]
                        ):
                            break
                    h = (h + 1) & seen.mask
                if slot:
                    j = <int64_t> (slot & 0xFFFFFFFFULL) - 1
                else:
                    j = nodes.n // 4
                    if j == cap:
                        limit = "max-states"
                        break
                    if j >= 0xFFFFFFFE:
                        raise MemoryError()
                    nodes.reserve(4)
                    node = nodes.arr.data.as_uints + nodes.n
                    node[0] = sw[0]
                    node[1] = sw[1]
                    node[2] = sw[2]
                    node[3] = sw[3]
                    nodes.n += 4
                    seen.slots[h] = tag | <uint64_t> (j + 1)
                    seen.n += 1
                    if seen.n * 10 > (seen.mask + 1) * 7:
                        seen.grow(nodes.arr.data.as_uints)
                dst.arr.data.as_uints[dst.n] = <uint32_t> j
                dst.n += 1
            if limit == "max-states":
                # Keep the columns aligned: only the edges recorded for this state count.
                dst.n = offsets.arr.data.as_uints[offsets.n - 1]
                break
            for e in range(n_succ):
                lbl.arr.data.as_ushorts[lbl.n] = <uint16_t> succ[5 * e + 4]
                lbl.n += 1
            offsets.reserve(1)
            offsets.arr.data.as_uints[offsets.n] = <uint32_t> dst.n
            offsets.n += 1
            i += 1
    except (KeyboardInterrupt, MemoryError) as exc:
        if isinstance(exc, KeyboardInterrupt) and not params["interruptible"]:
            PyMem_Free(succ)
            raise
        # What was found stays a truthful partial graph: the state being expanded when
        # the search stopped loses the edges recorded for it, as at max-states.
        limit = "interrupted" if isinstance(exc, KeyboardInterrupt) else "memory"
        dst.n = offsets.arr.data.as_uints[offsets.n - 1]
        lbl.n = dst.n
        i = offsets.n - 1
    PyMem_Free(succ)
    return {
        "nodes": nodes.done(),
        "offsets": offsets.done(),
        "dst": dst.done(),
        "lbl": lbl.done(),
        "deadlocks": deadlocks,
        "blocked_dead": blocked_dead,
        "waits": waits,
        "depth": depth,
        "limit": limit,
        "expanded": i,
    }
