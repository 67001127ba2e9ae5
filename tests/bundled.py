"""What the bundled spec ships with, as the tests expect to find it."""

#: The bundled variants, in the order ``tcpcheck variants`` lists them.
BUNDLED_VARIANTS = [
    "linux",
    "no-time-wait",
    "rfc1337",
    "rfc5961",
    "rfc793",
    "rst-time-wait",
    "short-time-wait",
]
