//! Exact, deterministic fixed-point decimal arithmetic for protocol state.
//!
//! Why this exists: every node must compute bit-identical balances, prices and
//! weights, or their states diverge. Binary floats cannot hold values such as 0.1
//! exactly, and their results can differ with compiler flags, fused
//! multiply-add, library `powf`/`ln` implementations and CPU, so they are not
//! allowed anywhere in state. [`Fixed`] is a plain integer count of 10^-18
//! units; every operation here is integer-only, has exactly one documented
//! rounding (half up, at the last step), and returns `None`/`Err` instead of
//! panicking or wrapping, so a result depends on its inputs alone.
//!
//! What it leaves out, on purpose:
//! - negative values: `Fixed` is unsigned; `checked_sub` fails and
//!   `saturating_sub` clamps at zero;
//! - rounding modes other than half up, and any scale other than 18 decimals;
//! - transcendental functions beyond [`Fixed::checked_pow_unit`] (a power of a
//!   base in `[0, 1]`), which is accurate to better than 1e-16 but not
//!   guaranteed correctly rounded in every last digit;
//! - exponent notation, signs, whitespace and localisation when parsing;
//! - serialisation formats (serde etc.): use `Display`/`FromStr` or [`Fixed::raw`];
//! - floats, except [`Fixed::to_f64_lossy`] (display and logging only; never feed
//!   it back into state) and [`Fixed::from_f64_shortest`] (ingesting numbers
//!   that arrive as JSON floats, via their shortest decimal spelling).
//!
//! Needs Rust 1.87 or later (`isqrt`, `is_multiple_of`, `core::error::Error`).
#![forbid(unsafe_code)]

use core::fmt;
use core::num::NonZeroU128;
use core::str::FromStr;

/// A non-negative decimal with 18 fractional digits, stored as an integer count of 10^-18 units.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(u128);

impl Fixed {
    pub const DECIMALS: u32 = 18;
    pub const SCALE: u128 = 1_000_000_000_000_000_000;
    pub const ZERO: Fixed = Fixed(0);
    pub const ONE: Fixed = Fixed(Self::SCALE);
    /// 340282366920938463463.374607431768211455
    pub const MAX: Fixed = Fixed(u128::MAX);

    /// Wraps a count of 10^-18 units.
    pub const fn from_raw(raw: u128) -> Fixed {
        Fixed(raw)
    }

    /// The count of 10^-18 units.
    pub const fn raw(self) -> u128 {
        self.0
    }

    /// `n` exactly; cannot overflow because u64::MAX * 10^18 < u128::MAX.
    pub const fn from_int(n: u64) -> Fixed {
        // `as` because `From` is not callable in a const fn; u64 -> u128 is lossless.
        Fixed(n as u128 * Self::SCALE)
    }

    /// The whole part, saturating at `u64::MAX`.
    pub fn whole(self) -> u64 {
        u64::try_from(self.0 / Self::SCALE).unwrap_or(u64::MAX)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, o: Fixed) -> Option<Fixed> {
        self.0.checked_add(o.0).map(Fixed)
    }

    /// None when the result would be negative.
    pub fn checked_sub(self, o: Fixed) -> Option<Fixed> {
        self.0.checked_sub(o.0).map(Fixed)
    }

    /// Clamps at zero.
    pub fn saturating_sub(self, o: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(o.0))
    }

    /// round(self * o), round half up, exact (256-bit intermediate). None on overflow.
    #[inline]
    pub fn checked_mul(self, o: Fixed) -> Option<Fixed> {
        mul_div_round(self.0, o.0, Self::SCALE).map(Fixed)
    }

    /// round(self / o), round half up, exact. None when o is zero or on overflow.
    #[inline]
    pub fn checked_div(self, o: Fixed) -> Option<Fixed> {
        mul_div_round(self.0, Self::SCALE, o.0).map(Fixed)
    }

    /// round(self * b / c) computed exactly from the full 256-bit product (one rounding). None when c is zero or the result overflows.
    ///
    /// In units this is round(self.raw * b.raw / c.raw): the two scale factors cancel.
    #[inline]
    pub fn checked_mul_div(self, b: Fixed, c: Fixed) -> Option<Fixed> {
        mul_div_round(self.0, b.0, c.0).map(Fixed)
    }

    /// self^exponent for 0 <= self <= 1 (None if self > 1). Deterministic integer-only algorithm.
    ///
    /// Exact cases: `x^0 = 1` (including `0^0`, as Python's `0.0 ** 0` does),
    /// `0^e = 0`, `1^e = 1`, `x^1 = x`. Integer exponents 2..=64 use
    /// square-and-multiply with `checked_mul` (so `x^2 == x * x`); each product
    /// rounds, giving at most (n - 1) / 2 units of error (3.2e-17). `x^0.5` is the
    /// correctly rounded square root. Everything else, including larger integer
    /// exponents, is `exp(-e * -ln x)` in 122-bit binary fixed point with one
    /// rounding at the end: within 0.5 units plus about 1e-17 units, i.e. correctly
    /// rounded except within a hair of a tie. Every loop is bounded by a small constant.
    pub fn checked_pow_unit(self, exponent: Fixed) -> Option<Fixed> {
        if self.0 > Self::SCALE {
            return None;
        }
        if exponent.0 == 0 {
            return Some(Self::ONE);
        }
        if self.0 == 0 {
            return Some(Self::ZERO);
        }
        if self.0 == Self::SCALE {
            return Some(Self::ONE);
        }
        match div_wide(0, exponent.0, Self::SCALE) {
            Some((n, 0)) if n <= POW_INT_MAX => return pow_int(self, n),
            _ => {}
        }
        if exponent.0 == Self::SCALE / 2 {
            return Some(Fixed(sqrt_unit(self.0)));
        }
        Some(Fixed(pow_general(self.0, exponent.0)))
    }

    /// Nearest-ish f64 for display and logging. Never use the result in state.
    #[allow(
        clippy::disallowed_types,
        reason = "display only, never fed back into state"
    )]
    pub fn to_f64_lossy(self) -> f64 {
        self.0 as f64 / Self::SCALE as f64
    }

    /// Converts an f64 through Rust's shortest round-trip spelling (`format!("{}", x)`,
    /// which never uses exponent notation) and parses that decimal exactly, so
    /// `0.1` becomes exactly 0.1 rather than 0.1000000000000000055511151231257827.
    ///
    /// NaN and infinities are rejected (`NotFinite`), negative values are rejected
    /// (`Negative`); `-0.0` is zero. A value with digits beyond the 18th decimal
    /// (`1.5e-19`) is rejected (`TooManyDecimals`) like the same decimal string:
    /// an amount is never silently rounded, to zero or otherwise. Values above
    /// [`Fixed::MAX`] give `TooLarge`.
    #[allow(
        clippy::disallowed_types,
        reason = "reads JSON numbers exactly, via their decimal spelling"
    )]
    pub fn from_f64_shortest(x: f64) -> Result<Fixed, ParseFixedError> {
        if !x.is_finite() {
            return Err(ParseFixedError::NotFinite);
        }
        if x == 0.0 {
            return Ok(Self::ZERO);
        }
        if x < 0.0 {
            return Err(ParseFixedError::Negative);
        }
        let mut buf = StackBuf::new();
        // A stack buffer keeps this usable without an allocator; the longest
        // finite f64 spelling (subnormals) is about 330 bytes.
        fmt::Write::write_fmt(&mut buf, format_args!("{x}"))
            .map_err(|_| ParseFixedError::TooLarge)?;
        parse_decimal(buf.as_bytes())
    }
}

/// Largest integer exponent that `checked_pow_unit` computes by repeated
/// `checked_mul`. Each of those multiplications rounds, and for x <= 1 the errors
/// add up to at most (n - 1) * 0.5e-18, so beyond this the 1e-16 accuracy promise
/// would break (x = 0.999999999912345678, n = 2^33 is off by 2.3e-10); larger
/// integer exponents take the general path, which is accurate for any exponent.
const POW_INT_MAX: u128 = 64;

// ---------------------------------------------------------------------------
// 256-bit multiply and divide
// ---------------------------------------------------------------------------

const LO64: u128 = u64::MAX as u128;

/// Full 256-bit product as (high, low) halves, schoolbook on 64-bit limbs.
#[inline]
const fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & LO64);
    let (b1, b0) = (b >> 64, b & LO64);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    // At most 3 * (2^64 - 1), so the cross terms cannot overflow here.
    let mid = (p00 >> 64) + (p01 & LO64) + (p10 & LO64);
    let lo = (p00 & LO64) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

/// (hi:lo) / d as (quotient, remainder), or None when d is zero or the quotient
/// needs more than 128 bits (exactly when hi >= d).
///
/// Inlined everywhere so that calls with the constant 10^18 get specialised.
/// The 128-bit `/` used below is a library call that, for a divisor below 2^64
/// and a quotient that fits in 64 bits, is a single hardware divide; on the
/// machines measured that beat a multiply-only reciprocal (Moller-Granlund)
/// by 1.5-2x, so every division here is arranged to hit that case.
#[inline(always)]
fn div_wide(hi: u128, lo: u128, d: u128) -> Option<(u128, u128)> {
    if hi >= d {
        return None;
    }
    // Dividing by a NonZero type compiles without the divide-by-zero panic path.
    let d_nz = NonZeroU128::new(d)?;
    if hi == 0 {
        // Fast path: the product fits in 128 bits.
        let q = lo / d_nz;
        return Some((q, lo - q * d));
    }
    if d <= LO64 {
        // Schoolbook with 64-bit digits; each partial dividend is below d * 2^64,
        // so each step yields one 64-bit quotient digit.
        let n1 = (hi << 64) | (lo >> 64);
        let q1 = n1 / d_nz;
        let n0 = ((n1 - q1 * d) << 64) | (lo & LO64);
        let q0 = n0 / d_nz;
        return Some(((q1 << 64) | q0, n0 - q0 * d));
    }
    // Knuth D / Hacker's Delight `divlu` with 64-bit digits. Shifting the
    // divisor until its top bit is set makes each digit estimate from the top
    // 128 bits off by at most two.
    let s = d.leading_zeros();
    let v = d << s;
    let (vn1, vn0) = ((v >> 64) as u64, v as u64);
    // hi < d, so hi << s loses nothing; s < 64 here.
    let (un32, un10) = if s == 0 {
        (hi, lo)
    } else {
        ((hi << s) | (lo >> (128 - s)), lo << s)
    };
    let (un1, un0) = ((un10 >> 64) as u64, un10 as u64);
    let vn1_nz = NonZeroU128::new(u128::from(vn1))?; // top bit set, never zero

    let q1 = quotient_digit(un32, un1, vn1_nz, vn0);
    // True value is below v, so the wrapped-away bits are all zero.
    let un21 = (un32 << 64)
        .wrapping_add(u128::from(un1))
        .wrapping_sub(u128::from(q1).wrapping_mul(v));
    let q0 = quotient_digit(un21, un0, vn1_nz, vn0);
    let rem = (un21 << 64)
        .wrapping_add(u128::from(un0))
        .wrapping_sub(u128::from(q0).wrapping_mul(v))
        >> s;
    Some(((u128::from(q1) << 64) | u128::from(q0), rem))
}

/// One 64-bit digit of (num * 2^64 + digit) / (vn1 * 2^64 + vn0) where
/// num < divisor and vn1 has its top bit set.
#[inline(always)]
fn quotient_digit(num: u128, digit: u64, vn1_nz: NonZeroU128, vn0: u64) -> u64 {
    let vn1 = vn1_nz.get();
    let mut q = num / vn1_nz;
    let mut rhat = num - q * vn1;
    // The estimate exceeds the true digit by at most 2: the gap is below
    // num / (vn1 * (vn1 + 1)) + 1 < 2^128 / 2^126 + 1 = 3 for vn1 >= 2^63.
    for _ in 0..2 {
        // q * vn0 is formed only once q < 2^64 (as u64 x u64, one multiply);
        // rhat < 2^64 keeps rhat * 2^64 + digit within 128 bits.
        let too_big = q > LO64 || {
            let q_vn0 = u128::from(q as u64) * u128::from(vn0);
            q_vn0 > ((rhat << 64) | u128::from(digit))
        };
        if !too_big {
            break;
        }
        q -= 1;
        rhat += vn1;
        if rhat > LO64 {
            break;
        }
    }
    q as u64
}

/// Half up: add one when r >= d - r, i.e. 2r >= d without overflowing near u128::MAX.
#[inline]
fn round_half_up(q: u128, r: u128, d: u128) -> Option<u128> {
    // Adding a 0/1 flag rather than branching: the remainder is effectively random.
    q.checked_add(u128::from(r >= d - r))
}

/// round_half_up(a * b / c) exactly, or None when c is zero or the result overflows.
#[inline]
fn mul_div_round(a: u128, b: u128, c: u128) -> Option<u128> {
    let (hi, lo) = mul_wide(a, b);
    let (q, r) = div_wide(hi, lo, c)?;
    round_half_up(q, r, c)
}

/// Shift a 256-bit value right by n (1..=255), rounding half up. The caller
/// guarantees the result fits in 128 bits.
fn shr_round(hi: u128, lo: u128, n: u32) -> u128 {
    let (q, half) = if n >= 128 {
        let half = if n == 128 {
            lo >> 127
        } else {
            (hi >> (n - 129)) & 1
        };
        (hi >> (n - 128), half)
    } else {
        ((lo >> n) | (hi << (128 - n)), (lo >> (n - 1)) & 1)
    };
    q.saturating_add(half)
}

// ---------------------------------------------------------------------------
// Powers
// ---------------------------------------------------------------------------

/// Square-and-multiply; every factor is <= 1, so checked_mul never overflows, but
/// the `?` keeps that a non-panicking fact rather than an assumption.
fn pow_int(base: Fixed, n: u128) -> Option<Fixed> {
    let mut acc = Fixed::ONE;
    let mut sq = base;
    let mut e = n;
    // e halves every round: at most 128 rounds, 7 for n <= POW_INT_MAX.
    while e != 0 {
        if e & 1 == 1 {
            acc = acc.checked_mul(sq)?;
        }
        e >>= 1;
        if e != 0 {
            sq = sq.checked_mul(sq)?;
        }
    }
    Some(acc)
}

/// Correctly rounded sqrt of a raw value <= 10^18, i.e. isqrt(raw * 10^18) to nearest.
fn sqrt_unit(raw: u128) -> u128 {
    let n = raw.saturating_mul(Fixed::SCALE);
    let s = n.isqrt();
    // (s + 1/2)^2 = s^2 + s + 1/4, and integers can never tie with it.
    s + u128::from(n - s * s > s)
}

// The general path works in unsigned binary fixed point with Q fractional bits.
// 18 decimals are not enough internally: for x close to 1 and a large exponent,
// x^e = exp(-e * L) with L = -ln x tiny, and the result error is about
// e * x^e * (error of L), which peaks at (error of L) / L. Keeping L to ~2^-122
// absolute (and computing it from exact rationals near 1) keeps that below
// 1e-18 even for x = 1 - 1e-18. -ln(1e-18) = 41.4 < 2^6, so 6 integer bits fit.
const Q: u32 = 122;
const ONE_Q: u128 = 1 << Q;
/// round(ln 2 * 2^122).
const LN2_Q: u128 = 3_685_402_550_398_645_220_905_377_230_689_913_819;
/// exp(-43) < 0.5e-18 rounds to zero; stopping there keeps k = y / ln 2 small.
const Y_CUTOFF_Q: u128 = 43 << Q;
/// exp(-r) is evaluated at r / 2^EXP_HALVINGS and squared back, which cuts the
/// Taylor series from 31 terms to 18 for the same precision.
const EXP_HALVINGS: u32 = 4;

/// 1/n! in Q122 for n = 0..=17. For r < ln2 / 16 the first omitted term,
/// r^18 / 18!, is below 1e-40.
const INV_FACT: [u128; 18] = {
    let mut t = [0u128; 18];
    let mut f: u128 = 1;
    let mut n = 0;
    while n < t.len() {
        if n > 0 {
            f *= n as u128;
        }
        t[n] = (ONE_Q + f / 2) / f;
        n += 1;
    }
    t
};

/// 1/(2j+1) in Q122 for j = 0..=39; enough for |s| <= 0.25 (first omitted
/// term below 1e-49), which the compile-time pivot logarithms need.
const INV_ODD: [u128; 40] = {
    let mut t = [0u128; 40];
    let mut j = 0;
    while j < t.len() {
        let d = 2 * j as u128 + 1;
        t[j] = (ONE_Q + d / 2) / d;
        j += 1;
    }
    t
};

/// atanh terms used at run time, where |s| <= 1/19: the first omitted term,
/// s^29 / 29, is below 1e-38.
const ATANH_TERMS: usize = 14;

/// -ln(j/8) in Q122 as a two's-complement u128 (the pivots 8/8 and 9/8 give
/// zero and a negative value), for j = 5..=9; computed at compile time from
/// ln(j/8) = 2 atanh((j-8)/(j+8)), so there are no magic constants to mistype.
const NEG_LN_PIVOT: [u128; 10] = {
    let mut t = [0u128; 10];
    let mut j: u128 = 5;
    while j <= 9 {
        let (num, neg) = if j < 8 { (8 - j, false) } else { (j - 8, true) };
        let d = j + 8;
        let s = ((num << Q) + d / 2) / d;
        let a = atanh_q(s, INV_ODD.len()) << 1;
        t[j as usize] = if neg { a.wrapping_neg() } else { a };
        j += 1;
    }
    t
};

/// a * b / 2^Q, truncated; callers keep both operands below 2^124.
#[inline]
const fn mul_q(a: u128, b: u128) -> u128 {
    let (hi, lo) = mul_wide(a, b);
    (hi << (128 - Q)) | (lo >> Q)
}

/// base^exponent for 0 < base < 1 (raw units) via exp(-exponent * -ln base).
fn pow_general(base: u128, exponent: u128) -> u128 {
    let l = neg_ln_q(base);
    let (hi, lo) = mul_wide(exponent, l);
    let y =
        match div_wide(hi, lo, Fixed::SCALE).and_then(|(q, r)| round_half_up(q, r, Fixed::SCALE)) {
            Some(y) => y,
            // y >= 2^128 / 2^122 = 64: far below half a unit.
            None => return 0,
        };
    if y >= Y_CUTOFF_Q {
        return 0;
    }
    exp_neg_to_raw(y)
}

/// -ln(raw / 10^18) in Q122 for 0 < raw < 10^18.
fn neg_ln_q(raw: u128) -> u128 {
    const S: u128 = Fixed::SCALE;
    // raw = v * 2^-k with v in [2^59, 2^60), i.e. v/S in [0.576, 1.153).
    let k = raw.leading_zeros().saturating_sub(S.leading_zeros());
    let v = raw << k;
    // Nearest pivot c = j/8 (j = 5..=9), then ln(v/S) = ln c + 2 atanh(s) with
    // s = (8v - jS) / (8v + jS), |s| <= 1/19. The ratio is formed from exact
    // integers, and for raw >= 15/16 the pivot is 1 itself, so L keeps its full
    // relative precision when raw is close to 1.
    // 8v < 2^63: a 64-bit division by a constant compiles to a multiply, where
    // the 128-bit one would be a library call.
    let j = u128::from((8 * v + S / 2) as u64 / S as u64);
    let (v8, js) = (8 * v, j * S);
    let (num, above) = if v8 > js {
        (v8 - js, true)
    } else {
        (js - v8, false)
    };
    let den = v8 + js;
    let s = match div_wide(num >> (128 - Q), num << Q, den) {
        Some((q, r)) => q + u128::from(r >= den - r),
        None => 0, // unreachable: num < den
    };
    let two_atanh = atanh_q(s, ATANH_TERMS) << 1;
    let pivot = NEG_LN_PIVOT.get(j as usize).copied().unwrap_or(0);
    // L = k ln2 - ln c -/+ 2 atanh|s|. Terms may be negative, but L itself is in
    // [0, 2^128), so wrapping (mod 2^128) arithmetic gives it exactly.
    let l = (u128::from(k) * LN2_Q).wrapping_add(pivot);
    if above {
        l.wrapping_sub(two_atanh)
    } else {
        l.wrapping_add(two_atanh)
    }
}

/// atanh(s) in Q122 for 0 <= s <= 1/4 (Q122), using the first `terms` terms.
const fn atanh_q(s: u128, terms: usize) -> u128 {
    let s2 = mul_q(s, s);
    let s4 = mul_q(s2, s2);
    // sum s2^j / (2j+1) by Horner, split into even and odd j in powers of s^4
    // (Estrin): two independent chains of multiplications run side by side,
    // which halves the latency. No divisions, and a fixed trip count.
    let (mut even, mut odd) = (0, 0);
    let mut j = terms;
    while j > 0 {
        j -= 1;
        if j & 1 == 0 {
            even = INV_ODD[j] + mul_q(s4, even);
        } else {
            odd = INV_ODD[j] + mul_q(s4, odd);
        }
    }
    mul_q(s, even + mul_q(s2, odd))
}

/// round(exp(-y) * 10^18) for 0 <= y < 43 (y in Q122).
fn exp_neg_to_raw(y: u128) -> u128 {
    // y = k ln2 + r with r in [0, ln2): exp(-y) = exp(-r) / 2^k, the shift is exact.
    // k from the top 64 bits (a cheap 64-bit division); the truncation can leave
    // it one off near a multiple of ln 2, which the exact checks below repair.
    let mut k = u128::from((y >> 64) as u64 / (LN2_Q >> 64) as u64);
    if k * LN2_Q > y {
        k -= 1;
    } else if y - k * LN2_Q >= LN2_Q {
        k += 1;
    }
    let r = (y - k * LN2_Q) >> EXP_HALVINGS;
    // exp(-r) = even(r^2) - r * odd(r^2) with even = sum r^2n / (2n)! and
    // odd = sum r^2n / (2n+1)!: two independent all-positive Horner chains
    // (shorter latency than one chain, and no signed terms).
    let r2 = mul_q(r, r);
    let (mut even, mut odd) = (0, 0);
    for (n, c) in INV_FACT.iter().enumerate().rev() {
        if n & 1 == 0 {
            even = c + mul_q(r2, even);
        } else {
            odd = c + mul_q(r2, odd);
        }
    }
    // even >= 1 > r * odd (that is sinh r < 1 for r < ln2 / 16).
    let mut p = even.saturating_sub(mul_q(r, odd));
    for _ in 0..EXP_HALVINGS {
        p = mul_q(p, p);
    }
    // One rounding from the 256-bit product: round(p * 10^18 / 2^(Q + k)).
    // k < 63, so the shift stays below 256.
    let (hi, lo) = mul_wide(p, Fixed::SCALE);
    shr_round(hi, lo, Q + k as u32)
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

/// Why a string (or f64) is not a valid [`Fixed`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ParseFixedError {
    Empty,
    Negative,
    TooManyDecimals,
    /// Anything but `digits` or `digits.digits`: signs, exponents, spaces, `12.`, `.5`.
    Invalid,
    TooLarge,
    /// NaN or an infinity handed to [`Fixed::from_f64_shortest`].
    NotFinite,
}

impl fmt::Display for ParseFixedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseFixedError::Empty => "empty string is not a decimal number",
            ParseFixedError::Negative => "negative values are not allowed",
            ParseFixedError::TooManyDecimals => {
                "more than 18 digits after the decimal point (amounts are exact to 18 \
                 decimals, never rounded)"
            }
            ParseFixedError::Invalid => {
                "not a plain decimal number (expected digits with an optional '.' and \
                 fraction; signs, exponents and whitespace are not accepted)"
            }
            ParseFixedError::TooLarge => {
                "too large: the maximum is 340282366920938463463.374607431768211455"
            }
            ParseFixedError::NotFinite => "NaN and infinity are not decimal numbers",
        })
    }
}

impl core::error::Error for ParseFixedError {}

fn parse_decimal(s: &[u8]) -> Result<Fixed, ParseFixedError> {
    match s.first() {
        None => return Err(ParseFixedError::Empty),
        Some(b'-') => return Err(ParseFixedError::Negative),
        Some(_) => {}
    }
    let (int_part, frac) = match s.iter().position(|&c| c == b'.') {
        Some(i) => {
            let (a, b) = s.split_at(i);
            let frac = b.get(1..).unwrap_or_default();
            if frac.is_empty() {
                return Err(ParseFixedError::Invalid);
            }
            (a, frac)
        }
        None => (s, &[][..]),
    };
    // A second '.' lands in frac and fails here too.
    if int_part.is_empty()
        || !int_part.iter().all(u8::is_ascii_digit)
        || !frac.iter().all(u8::is_ascii_digit)
    {
        return Err(ParseFixedError::Invalid);
    }
    let decimals = Fixed::DECIMALS as usize;
    if frac.len() > decimals {
        return Err(ParseFixedError::TooManyDecimals);
    }
    let kept = frac;

    let mut int: u128 = 0;
    for &c in int_part {
        int = int
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(c - b'0')))
            .ok_or(ParseFixedError::TooLarge)?;
    }
    let mut f: u128 = 0;
    for &c in kept {
        f = f * 10 + u128::from(c - b'0');
    }
    for _ in kept.len()..decimals {
        f *= 10;
    }
    let raw = int
        .checked_mul(Fixed::SCALE)
        .and_then(|v| v.checked_add(f))
        .ok_or(ParseFixedError::TooLarge)?;
    Ok(Fixed(raw))
}

impl FromStr for Fixed {
    type Err = ParseFixedError;

    /// Accepts `digits` or `digits.digits` with at most 18 decimals; rejects
    /// `12.`, `.5`, signs, exponents and whitespace.
    fn from_str(s: &str) -> Result<Fixed, ParseFixedError> {
        parse_decimal(s.as_bytes())
    }
}

impl fmt::Display for Fixed {
    /// Shortest exact spelling: no trailing zeros, no trailing '.'. Width and fill
    /// flags are honoured; precision is ignored because truncating would lie.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // 21 integer digits + '.' + 18 decimals, filled from the right through an
        // iterator so that no index can go out of bounds.
        let mut buf = [0u8; 40];
        let mut slots = buf.iter_mut().rev();
        let mut used = 0;
        let mut put = |c: u8| {
            if let Some(slot) = slots.next() {
                *slot = c;
                used += 1;
            }
        };
        let (int, frac) = match div_wide(0, self.0, Self::SCALE) {
            Some(v) => v,
            None => return Err(fmt::Error), // unreachable: hi = 0 < 10^18
        };
        let mut frac = frac as u64; // below 10^18
        if frac != 0 {
            let mut width = Self::DECIMALS;
            while frac.is_multiple_of(10) {
                frac /= 10;
                width -= 1;
            }
            for _ in 0..width {
                put(b'0' + (frac % 10) as u8);
                frac /= 10;
            }
            put(b'.');
        }
        let mut int = int;
        loop {
            put(b'0' + (int % 10) as u8);
            int /= 10;
            if int == 0 {
                break;
            }
        }
        let s = buf
            .get(buf.len().saturating_sub(used)..)
            .unwrap_or_default();
        let s = core::str::from_utf8(s).map_err(|_| fmt::Error)?;
        f.pad_integral(true, "", s)
    }
}

impl fmt::Debug for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Fixed-capacity `fmt::Write` target, so f64 conversion needs no allocator.
struct StackBuf {
    bytes: [u8; 400],
    len: usize,
}

impl StackBuf {
    fn new() -> StackBuf {
        StackBuf {
            bytes: [0; 400],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::disallowed_types, reason = "tests compare with floats")]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::TestCaseError;

    const S: u128 = Fixed::SCALE;

    fn fx(s: &str) -> Fixed {
        match s.parse() {
            Ok(v) => v,
            Err(e) => panic!("test literal {s:?} does not parse: {e}"),
        }
    }

    fn opt(want: Option<&str>) -> Option<Fixed> {
        want.map(fx)
    }

    fn check_mul(a: &str, b: &str, want: Option<&str>) {
        assert_eq!(fx(a).checked_mul(fx(b)), opt(want), "{a} * {b}");
    }

    fn check_div(a: &str, b: &str, want: Option<&str>) {
        assert_eq!(fx(a).checked_div(fx(b)), opt(want), "{a} / {b}");
    }

    fn check_mul_div_raw(a: u128, b: u128, c: u128, want: Option<u128>) {
        let got = Fixed(a).checked_mul_div(Fixed(b), Fixed(c)).map(Fixed::raw);
        assert_eq!(got, want, "raw {a} * {b} / {c}");
    }

    fn check_pow(base: &str, e: &str, want: Option<&str>) {
        assert_eq!(fx(base).checked_pow_unit(fx(e)), opt(want), "{base} ^ {e}");
    }

    fn check_parse_err(s: &str, want: ParseFixedError) {
        assert_eq!(s.parse::<Fixed>(), Err(want), "{s:?}");
    }

    fn check_display(raw: u128, want: &str) {
        assert_eq!(Fixed(raw).to_string(), want);
        assert_eq!(format!("{:?}", Fixed(raw)), want);
        assert_eq!(fx(want), Fixed(raw), "parse back {want}");
    }

    fn check_f64(x: f64, want: Result<&str, ParseFixedError>) {
        assert_eq!(Fixed::from_f64_shortest(x), want.map(fx), "{x:e}");
    }

    /// Independent 256-bit reference: shift-and-add product, bit-by-bit long
    /// division, then the same half-up rule.
    fn reference_mul_div(a: u128, b: u128, c: u128) -> Option<u128> {
        if c == 0 {
            return None;
        }
        let (mut hi, mut lo) = (0u128, 0u128);
        for i in 0..128 {
            if (b >> i) & 1 == 1 {
                let (add_hi, add_lo) = if i == 0 {
                    (0, a)
                } else {
                    (a >> (128 - i), a << i)
                };
                let (l, carry) = lo.overflowing_add(add_lo);
                lo = l;
                hi = hi + add_hi + u128::from(carry);
            }
        }
        let (mut q_hi, mut q_lo, mut r) = (0u128, 0u128, 0u128);
        for i in (0..256).rev() {
            let bit = if i >= 128 {
                (hi >> (i - 128)) & 1
            } else {
                (lo >> i) & 1
            };
            let top = r >> 127;
            r = (r << 1) | bit;
            q_hi = (q_hi << 1) | (q_lo >> 127);
            q_lo <<= 1;
            if top == 1 || r >= c {
                r = r.wrapping_sub(c);
                q_lo |= 1;
            }
        }
        if q_hi != 0 {
            return None;
        }
        if r >= c - r {
            q_lo.checked_add(1)
        } else {
            Some(q_lo)
        }
    }

    #[test]
    fn constants() {
        check_display(0, "0");
        check_display(S, "1");
        check_display(u128::MAX, "340282366920938463463.374607431768211455");
        assert_eq!(Fixed::MAX, fx("340282366920938463463.374607431768211455"));
        assert_eq!(
            Fixed::from_int(u64::MAX).to_string(),
            "18446744073709551615"
        );
        assert_eq!(Fixed::from_int(7), fx("7"));
        assert!(Fixed::ZERO.is_zero() && !Fixed::ONE.is_zero());
        assert_eq!(Fixed::default(), Fixed::ZERO);
        assert_eq!(Fixed::from_raw(5).raw(), 5);
    }

    #[test]
    fn add_sub() {
        assert_eq!(fx("1.5").checked_add(fx("2.25")), Some(fx("3.75")));
        assert_eq!(Fixed::MAX.checked_add(Fixed(1)), None);
        assert_eq!(Fixed::MAX.checked_add(Fixed::ZERO), Some(Fixed::MAX));
        assert_eq!(fx("3").checked_sub(fx("0.5")), Some(fx("2.5")));
        assert_eq!(fx("0.5").checked_sub(fx("3")), None);
        assert_eq!(fx("0.5").saturating_sub(fx("3")), Fixed::ZERO);
        assert_eq!(fx("3").saturating_sub(fx("0.5")), fx("2.5"));
    }

    #[test]
    fn mul() {
        check_mul("2", "3", Some("6"));
        check_mul("0.5", "0.5", Some("0.25"));
        check_mul("1.1", "1.1", Some("1.21"));
        check_mul("0", "123.456", Some("0"));
        // Half up at the last place, and just below half goes down.
        check_mul("0.000000000000000001", "0.5", Some("0.000000000000000001"));
        check_mul("0.000000000000000001", "0.499999999999999999", Some("0"));
        check_mul("0.000000000000000003", "0.5", Some("0.000000000000000002"));
        check_mul("0.333333333333333333", "3", Some("0.999999999999999999"));
        // 256-bit product path.
        check_mul("100000000000000000000", "3", Some("300000000000000000000"));
        check_mul("18446744073709551616", "18446744073709551616", None);
        assert_eq!(Fixed::MAX.checked_mul(Fixed::ONE), Some(Fixed::MAX));
        assert_eq!(Fixed::MAX.checked_mul(fx("2")), None);
        assert_eq!(Fixed::MAX.checked_mul(Fixed::MAX), None);
        assert_eq!(
            Fixed::MAX.checked_mul(fx("0.5")),
            Some(Fixed(u128::MAX / 2 + 1))
        );
    }

    #[test]
    fn div() {
        check_div("1", "3", Some("0.333333333333333333"));
        check_div("2", "3", Some("0.666666666666666667"));
        check_div("10", "0.6875", Some("14.545454545454545455"));
        check_div("10", "0.4", Some("25"));
        check_div("0.000000000000000001", "2", Some("0.000000000000000001"));
        check_div("0.000000000000000001", "3", Some("0"));
        check_div("1", "0", None);
        check_div("0", "0", None);
        check_div("340282366920938463463", "0.5", None);
        check_div(
            "340282366920938463463",
            "1000",
            Some("340282366920938463.463"),
        );
        assert_eq!(Fixed::MAX.checked_div(Fixed::ONE), Some(Fixed::MAX));
    }

    #[test]
    fn display_of_brief_example() {
        // 160 / 11 = 14.545454... with digit 19 = 5, 20 = 4: half up rounds the 18th up.
        check_div("160", "11", Some("14.545454545454545455"));
        check_display(14_545_454_545_454_545_454, "14.545454545454545454");
        check_display(10 * S, "10");
        check_display(S / 2, "0.5");
        check_display(1, "0.000000000000000001");
        check_display(S + 10, "1.00000000000000001");
    }

    #[test]
    fn mul_div() {
        let m = u128::MAX;
        check_mul_div_raw(m, m, m, Some(m));
        check_mul_div_raw(m, m, 1, None);
        check_mul_div_raw(5, 7, 0, None);
        check_mul_div_raw(0, 0, 0, None);
        check_mul_div_raw(1, 1, 2, Some(1));
        check_mul_div_raw(1, 1, 3, Some(0));
        check_mul_div_raw(2, 1, 3, Some(1));
        check_mul_div_raw(m, 2, 2, Some(m));
        // (2^43 - 1)(2^86 + 2^43 + 1) = 2^129 - 1 = 2 * MAX + 1: quotient MAX,
        // remainder exactly half, so rounding up overflows.
        let (a, b) = ((1u128 << 43) - 1, (1u128 << 86) + (1 << 43) + 1);
        check_mul_div_raw(a, b, 2, None);
        check_mul_div_raw(a, b, 4, Some(1u128 << 127));
        // Divisors with bits above 64 take the two-digit long division.
        let c = (1u128 << 100) + 12_345;
        check_mul_div_raw(c, 3 << 90, c, Some(3 << 90));
        check_mul_div_raw(m, m - 1, m, Some(m - 1));
        check_mul_div_raw(m - 1, m - 1, m, Some(m - 2));
        assert_eq!(
            fx("1000000").checked_mul_div(fx("3"), fx("7")),
            Some(fx("428571.428571428571428571"))
        );
    }

    #[test]
    fn div_wide_edges() {
        // Every normalisation shift and the quotient-digit correction paths.
        for s in 0..128 {
            let d = (u128::MAX >> s) | 1;
            for (hi, lo) in [(0, u128::MAX), (d - 1, u128::MAX), (d >> 1, 0), (d - 1, 0)] {
                let got = div_wide(hi, lo, d);
                let (q, r) = match got {
                    Some(v) => v,
                    None => panic!("quotient fits for hi < d"),
                };
                assert!(r < d);
                // q * d + r == hi:lo
                let (ph, pl) = mul_wide(q, d);
                let (l, carry) = pl.overflowing_add(r);
                assert_eq!((ph + u128::from(carry), l), (hi, lo), "s={s}");
            }
        }
        assert_eq!(div_wide(5, 0, 5), None);
        assert_eq!(div_wide(0, 5, 0), None);
    }

    #[test]
    fn shr_round_edges() {
        let half = 1u128 << 127;
        for (hi, lo, n, want) in [
            (0, 3, 1, 2),
            (0, 2, 1, 1),
            (1, 0, 127, 2),
            (0, 1 << 126, 127, 1),
            (0, (1 << 126) - 1, 127, 0),
            (1, half, 128, 2),
            (1, half - 1, 128, 1),
            (3, 0, 129, 2),
            (2, u128::MAX, 129, 1),
            ((1 << 72) + (1 << 71), 0, 200, 2),
            ((1 << 72) + (1 << 71) - 1, u128::MAX, 200, 1),
        ] {
            assert_eq!(shr_round(hi, lo, n), want, "({hi}, {lo}) >> {n}");
        }
    }

    #[test]
    fn pow_special_cases() {
        check_pow("0", "0", Some("1"));
        check_pow("0.3", "0", Some("1"));
        check_pow("1", "0", Some("1"));
        check_pow("0", "2.5", Some("0"));
        check_pow("0", "1", Some("0"));
        check_pow("1", "123.4", Some("1"));
        check_pow("1", "340282366920938463463", Some("1"));
        check_pow("1.000000000000000001", "1", None);
        check_pow("1.000000000000000001", "0", None);
        check_pow("2", "0.5", None);
        check_pow("0.123456789012345678", "1", Some("0.123456789012345678"));
        check_pow("0.5", "2", Some("0.25"));
        check_pow("0.5", "3", Some("0.125"));
        check_pow("0.7", "3", Some("0.343"));
        check_pow("0.1", "18", Some("0.000000000000000001"));
        check_pow("0.1", "19", Some("0"));
        let x = fx("0.987654321987654321");
        assert_eq!(x.checked_pow_unit(fx("2")), x.checked_mul(x));
        check_pow("0.5", "0.5", Some("0.707106781186547524"));
        check_pow("0.9", "0.5", Some("0.9486832980505138"));
        check_pow("0.000000000000000001", "0.5", Some("0.000000001"));
        assert_eq!(Fixed(S - 1).checked_pow_unit(fx("0.5")), Some(Fixed(S - 1)));
    }

    #[test]
    fn pow_general_against_high_precision() {
        // References: Python decimal at 100 digits, rounded half up to 18 places.
        check_pow("0.25", "0.6", Some("0.43527528164806207"));
        check_pow("0.3", "2.718281828459045235", Some("0.037902530702950292"));
        check_pow(
            "0.123456789012345678",
            "0.000123",
            Some("0.999742733817927669"),
        );
        check_pow("0.5", "0.000000000000000001", Some("0.999999999999999999"));
        check_pow("0.000000000000000001", "1.01", Some("0.000000000000000001"));
        check_pow("0.01", "9.5", Some("0"));
        // Integer exponents above POW_INT_MAX go through the general path.
        check_pow("0.999999999", "100", Some("0.99999990000000495"));
        check_pow("0.99", "4000", Some("0.000000000000000003"));
        // Bases next to 1 with huge exponents need relative precision in ln.
        check_pow(
            "0.999999999999999999",
            "1000000000000000000",
            Some("0.367879441171442321"),
        );
        check_pow(
            "0.9999999999",
            "12345678901.234567",
            Some("0.290960462079243733"),
        );
        check_pow(
            "0.999999999999999999",
            "123456789.123456789",
            Some("0.999999999876543211"),
        );
        // Square-and-multiply would be off by 2.3e-10 here.
        check_pow(
            "0.999999999912345678",
            "8589934592",
            Some("0.470977530184151315"),
        );
        check_pow("0.5", "340282366920938463463", Some("0"));
        assert_eq!(Fixed(S - 1).checked_pow_unit(Fixed::MAX), Some(Fixed::ZERO));
    }

    #[test]
    fn ln_internals() {
        // ln 2 to 36 decimals is 0.693147180559945309417232121458176568 (next digit 0).
        let (hi, lo) = mul_wide(LN2_Q, 10u128.pow(36));
        assert_eq!(
            shr_round(hi, lo, Q),
            693_147_180_559_945_309_417_232_121_458_176_568
        );
        // -ln 0.3 and -ln(1 - 1e-18) in Q122 from Python decimal.
        let want = 6_401_417_430_694_834_362_528_817_156_921_508_528u128;
        assert!(neg_ln_q(3 * S / 10).abs_diff(want) <= 4);
        assert!(neg_ln_q(S - 1).abs_diff(5_316_911_983_139_663_494) <= 1);
        assert_eq!(neg_ln_q(S / 2), LN2_Q);
        // The general path agrees with the exact special cases it bypasses.
        for raw in [1, 7, S / 3, S / 2, S - 1, 999_999_999_999_999_000] {
            let exact = sqrt_unit(raw);
            assert!(pow_general(raw, S / 2).abs_diff(exact) <= 1, "sqrt {raw}");
            let cube = pow_int(Fixed(raw), 3).map(Fixed::raw).unwrap_or(u128::MAX);
            assert!(pow_general(raw, 3 * S).abs_diff(cube) <= 2, "cube {raw}");
        }
    }

    #[test]
    fn parse_ok() {
        assert_eq!(fx("12"), Fixed(12 * S));
        assert_eq!(fx("12.5"), Fixed(12 * S + S / 2));
        assert_eq!(fx("0.000000000000000001"), Fixed(1));
        assert_eq!(fx("007.10"), fx("7.1"));
        assert_eq!(fx("0.100000000000000000"), fx("0.1"));
    }

    #[test]
    fn parse_errors() {
        use ParseFixedError::*;
        check_parse_err("", Empty);
        check_parse_err("-1", Negative);
        check_parse_err("-0", Negative);
        check_parse_err("0.0000000000000000001", TooManyDecimals);
        check_parse_err("1.1234567890123456789", TooManyDecimals);
        for bad in [
            "12.", ".5", "1e5", "1E5", "+1", " 1", "1 ", "1.2.3", "0x10", "abc", "1,5", ".",
        ] {
            check_parse_err(bad, Invalid);
        }
        check_parse_err("340282366920938463463.374607431768211456", TooLarge);
        check_parse_err("340282366920938463464", TooLarge);
        check_parse_err("99999999999999999999999999999999999999999", TooLarge);
        for e in [
            Empty,
            Negative,
            TooManyDecimals,
            Invalid,
            TooLarge,
            NotFinite,
        ] {
            assert!(!e.to_string().is_empty());
        }
        assert!(TooManyDecimals.to_string().contains("18"));
        assert!(Invalid.to_string().contains("exponent"));
    }

    #[test]
    fn from_f64() {
        use ParseFixedError::*;
        check_f64(0.1, Ok("0.1"));
        check_f64(12.5, Ok("12.5"));
        check_f64(3.0, Ok("3"));
        check_f64(0.0, Ok("0"));
        check_f64(-0.0, Ok("0"));
        // Never rounded: more than 18 decimals is refused, however small.
        check_f64(1e-18, Ok("0.000000000000000001"));
        check_f64(1.5e-18, Err(TooManyDecimals));
        check_f64(1.5e-19, Err(TooManyDecimals));
        check_f64(1e-20, Err(TooManyDecimals));
        check_f64(5e-19, Err(TooManyDecimals));
        check_f64(f64::MIN_POSITIVE / 4.0, Err(TooManyDecimals));
        check_f64(1.234_567_890_123_456_7e-5, Err(TooManyDecimals));
        check_f64(1.234_567_89e-5, Ok("0.0000123456789"));
        check_f64(0.123_456_789_012_345_68, Ok("0.12345678901234568"));
        check_f64(-1.0, Err(Negative));
        check_f64(f64::NAN, Err(NotFinite));
        check_f64(f64::INFINITY, Err(NotFinite));
        check_f64(f64::NEG_INFINITY, Err(NotFinite));
        check_f64(1e21, Err(TooLarge));
        check_f64(f64::MAX, Err(TooLarge));
        check_f64(1e20, Ok("100000000000000000000"));
    }

    #[test]
    fn display_padding() {
        assert_eq!(format!("{:>6}", fx("1.5")), "   1.5");
        assert_eq!(format!("{:06}", fx("1.5")), "0001.5");
        assert!((fx("2.5").to_f64_lossy() - 2.5).abs() < 1e-15);
    }

    fn any_divisor() -> impl Strategy<Value = u128> {
        prop_oneof![
            1u128..1000,
            1u128..=u128::from(u64::MAX),
            (1u128 << 64)..=u128::MAX,
            any::<u128>(),
            Just(S),
        ]
    }

    fn any_operand() -> impl Strategy<Value = u128> {
        prop_oneof![
            any::<u128>(),
            0u128..=u128::from(u64::MAX),
            (u128::MAX - 1000)..=u128::MAX,
            (0u32..128).prop_flat_map(|b| 0u128..=(u128::MAX >> b)),
        ]
    }

    /// got within tol of want: relative when `relative`, else absolute.
    fn check_close(
        what: &str,
        got: Option<Fixed>,
        want: f64,
        tol: f64,
        relative: bool,
    ) -> Result<(), TestCaseError> {
        let got = got.map_or(f64::NAN, Fixed::to_f64_lossy);
        let err = if relative {
            ((got - want) / want).abs()
        } else {
            (got - want).abs()
        };
        prop_assert!(
            err <= tol,
            "{}: got {} want {} (err {:e})",
            what,
            got,
            want,
            err
        );
        Ok(())
    }

    fn check_mul_div_ref(a: u128, b: u128, c: u128) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            mul_div_round(a, b, c),
            reference_mul_div(a, b, c),
            "{} {} {}",
            a,
            b,
            c
        );
        Ok(())
    }

    fn f(raw: u128) -> f64 {
        Fixed(raw).to_f64_lossy()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200000))]

        #[test]
        fn prop_mul_div_matches_reference(
            a in any_operand(), b in any_operand(), c in any_divisor()
        ) {
            check_mul_div_ref(a, b, c)?;
        }

        #[test]
        fn prop_mul_div_in_range(a in any_operand(), c in any_divisor(), k in 0u32..128) {
            // b chosen so the quotient usually fits, hitting the long division often.
            check_mul_div_ref(a, (c >> k).max(1), c)?;
        }

        #[test]
        fn prop_div_wide_is_exact(d in any_divisor(), hi in any::<u128>(), lo in any::<u128>()) {
            // q * d + r == hi:lo with r < d, whenever hi < d.
            let hi = hi % d;
            let (q, r) = div_wide(hi, lo, d).unwrap_or((0, u128::MAX));
            prop_assert!(r < d);
            let (ph, pl) = mul_wide(q, d);
            let (l, carry) = pl.overflowing_add(r);
            prop_assert_eq!((ph + u128::from(carry), l), (hi, lo));
        }

        #[test]
        fn prop_mul_and_div_match_reference(a in any_operand(), b in any_operand()) {
            let mul = Fixed(a).checked_mul(Fixed(b)).map(Fixed::raw);
            prop_assert_eq!(mul, reference_mul_div(a, b, S));
            let div = Fixed(a).checked_div(Fixed(b)).map(Fixed::raw);
            prop_assert_eq!(div, reference_mul_div(a, S, b));
        }

        #[test]
        fn prop_mul_div_agree_with_f64(
            a in (S / 100)..(S * 1_000_000),
            b in (S / 100)..(S * 1_000_000),
            n in S..(S * 1_000_000),
            d in (S / 100)..(S * 1000),
        ) {
            // Ranges keep results >= 1e-4, so the 1e-18 rounding stays below 1e-12 relative.
            check_close("mul", Fixed(a).checked_mul(Fixed(b)), f(a) * f(b), 1e-12, true)?;
            check_close("div", Fixed(n).checked_div(Fixed(d)), f(n) / f(d), 1e-12, true)?;
        }

        #[test]
        fn prop_pow_unit_agrees_with_powf(b in 0u128..=S, e in 0u128..=(4 * S)) {
            let got = Fixed(b).checked_pow_unit(Fixed(e));
            check_close("pow", got, f(b).powf(f(e)), 1e-15, false)?;
        }

        #[test]
        fn prop_pow_unit_near_one(b in (S - 1_000_000)..S, e in 0u128..=(1_000_000 * S)) {
            // (1 - d)^e = exp(e * ln(1 - d)); ln_1p keeps f64 accurate here.
            let want = (f(e) * (-f(S - b)).ln_1p()).exp();
            check_close("pow near 1", Fixed(b).checked_pow_unit(Fixed(e)), want, 1e-15, false)?;
        }

        #[test]
        fn prop_pow_unit_never_panics(b in any::<u128>(), e in any::<u128>()) {
            let r = Fixed(b).checked_pow_unit(Fixed(e));
            prop_assert_eq!(r.is_some(), b <= S);
            prop_assert!(r.unwrap_or(Fixed::ZERO) <= Fixed::ONE);
        }

        #[test]
        fn prop_display_parse_round_trip(raw in any::<u128>()) {
            let s = Fixed(raw).to_string();
            prop_assert_eq!(s.parse::<Fixed>(), Ok(Fixed(raw)));
            prop_assert!(!s.ends_with('.'));
            prop_assert!(!s.contains('.') || !s.ends_with('0'), "{}", s);
        }

        #[test]
        fn prop_from_f64_matches_display(x in prop_oneof![0.0f64..1e12, 0.0f64..1e-9]) {
            // Expected value built from the decimal string with plain string surgery.
            let text = format!("{x}");
            let want: Result<Fixed, _> = match text.split_once('.') {
                Some((_, frac)) if frac.len() > 18 => Err(ParseFixedError::TooManyDecimals),
                _ => text.parse(),
            };
            prop_assert_eq!(Fixed::from_f64_shortest(x), want, "{}", text);
        }
    }
}
