"""Constants and polynomial coefficients for vmath, as exact hex floats.

Range-reduction splits (ln 2, pi/2) have trailing zero bits so that k * hi is exact. Taylor
coefficients are exact rationals rounded once. The erf tables were fitted offline with mpmath
(weighted least squares refined toward minimax, 50 digits): erf(x)/x as a polynomial in x*x on
[0, 1]; erfc(x)*exp(x*x) as polynomials in (x - 1.5) on [1, 2] and (x - 4) on [2, 6], weighted by
exp(-x*x) so that the error of erf itself stays near 1 ulp. Checked in the special-value tests.
"""

from __future__ import annotations

import math

h = float.fromhex

LN2 = {
    32: (h("0x1.62e4p-1"), h("0x1.7f7d1cp-20")),
    64: (h("0x1.62e42feep-1"), h("0x1.a39ef35793c76p-33")),
}
LOG2E = h("0x1.71547652b82fep+0")
PIO2 = (h("0x1.921fb54440000p+0"), h("0x1.68c234c4c0000p-39"), h("0x1.98a2e03707345p-77"))
TWO_OVER_PI = h("0x1.45f306dc9c883p-1")

# Taylor terms beyond r: expm1(r) = r + r^2 * (1/2! + r/3! + ...), |r| <= ln2/2
EXPM1 = {
    32: [1 / math.factorial(n) for n in range(2, 8)],
    64: [1 / math.factorial(n) for n in range(2, 15)],
}
# log(1+f) = f - (hf - s*(hf + R)), R = z*(2/3 + 2/5 z + ...), s = f/(2+f), z = s*s <= 0.0295
LOG_R = {32: [2 / (2 * n + 1) for n in range(1, 7)], 64: [2 / (2 * n + 1) for n in range(1, 13)]}
# sin(r) = r + r^3 * S(r^2), cos(r) = 1 - r^2/2 + r^4 * C(r^2) for |r| <= pi/4 (computed in f64)
SIN = [(-1) ** n / math.factorial(2 * n + 1) for n in range(1, 10)]
COS = [(-1) ** n / math.factorial(2 * n) for n in range(2, 11)]

ERF_SMALL = [
    h(x)
    for x in (
        "0x1.20dd750429b6dp+0",
        "-0x1.812746b0379e6p-2",
        "0x1.ce2f21a042b20p-4",
        "-0x1.b82ce3128499ap-6",
        "0x1.565bcd0db0293p-8",
        "-0x1.c02db3d8ec417p-11",
        "0x1.f9a321a1047ecp-14",
        "-0x1.f4d1df376eb03p-17",
        "0x1.b9def1868d920p-20",
        "-0x1.5f1d35fff3b0bp-23",
        "0x1.f7a40a2e3430cp-27",
        "-0x1.386aa8894a52ep-30",
        "0x1.05796a74048abp-34",
    )
]
ERFC_MID = [
    h(x)
    for x in (  # in (x - 1.5), x in [1, 2]
        "0x1.494daffa2ad68p-2",
        "-0x1.4f1988444caf7p-3",
        "0x1.37ea271bc54acp-4",
        "-0x1.0dc51d2941eb7p-5",
        "0x1.b65944f3529d6p-7",
        "-0x1.513ed75ffed80p-8",
        "0x1.ee705e6fed765p-10",
        "-0x1.5b0abff60050ep-11",
        "0x1.d4509ee989722p-13",
        "-0x1.30c0e4450db4fp-14",
        "0x1.7f98ee9106d08p-16",
        "-0x1.d41a03a4f2ac2p-18",
        "0x1.15831ef0f4bf5p-19",
        "-0x1.3f522ee142244p-21",
        "0x1.63da817d25a23p-23",
        "-0x1.a6ec569aaaf7bp-25",
        "0x1.fa01b209ab477p-27",
    )
]
ERFC_TAIL = [
    h(x)
    for x in (  # in (x - 4), x in [2, 6]; padded with zeros to ERFC_MID's length
        "0x1.18932bf131eaep-3",
        "-0x1.0949220292555p-5",
        "0x1.e9414549d0c84p-8",
        "-0x1.b8b5bf4b86bf5p-10",
        "0x1.845084f727822p-12",
        "-0x1.4fa99be7dda2cp-14",
        "0x1.1882f10ec441ap-16",
        "-0x1.e3242e3353f27p-19",
        "0x1.cc9e8ee6296e0p-21",
        "0x1.574b5f25e09acp-23",
        "0x1.49a5229c17b93p-22",
        "0x1.3ce6bae6f0e58p-23",
        "0x1.cb24d163726d8p-25",
        "0x1.63ba7fa266125p-27",
        "0x1.1dff28ef921abp-30",
    )
] + [0.0, 0.0]


class Limits:
    """Per-precision bit layout and the clamp points of the exponential family."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self.mant = 23 if bits == 32 else 52
        self.bias = 127 if bits == 32 else 1023
        self.exp_hi = 89.0 if bits == 32 else 710.0  # exp overflows beyond
        self.exp_lo = -104.0 if bits == 32 else -746.0  # exp rounds to 0 below
        self.expm1_lo = -(self.mant + 6) * math.log(2)  # expm1 is -1 (rounded) below
        self.tanh_hi = 9.1 if bits == 32 else 19.1  # tanh rounds to 1 above
        self.min_normal = 2.0 ** (1 - self.bias)
        self.sqrt_half_bits = 0x3F3504F3 if bits == 32 else 0x3FE6A09E667F3BCD
        self.one_bits = 0x3F800000 if bits == 32 else 0x3FF0000000000000


LIMITS = {32: Limits(32), 64: Limits(64)}
TRIG_LIMIT = 1.0e5  # beyond, sin/cos call libm (Payne-Hanek reduction)
