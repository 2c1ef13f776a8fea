//! TEMPORARY stand-in; replaced by the exact implementation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fixed(u128);
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseFixedError {
    Invalid,
}
impl core::fmt::Display for ParseFixedError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "not a decimal number")
    }
}
impl Fixed {
    pub const DECIMALS: u32 = 18;
    pub const SCALE: u128 = 1_000_000_000_000_000_000;
    pub const ZERO: Fixed = Fixed(0);
    pub const ONE: Fixed = Fixed(Self::SCALE);
    pub const MAX: Fixed = Fixed(u128::MAX);
    pub const fn from_raw(raw: u128) -> Fixed {
        Fixed(raw)
    }
    pub const fn raw(self) -> u128 {
        self.0
    }
    pub const fn from_int(n: u64) -> Fixed {
        Fixed(n as u128 * Self::SCALE)
    }
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
    pub fn checked_add(self, o: Fixed) -> Option<Fixed> {
        self.0.checked_add(o.0).map(Fixed)
    }
    pub fn checked_sub(self, o: Fixed) -> Option<Fixed> {
        self.0.checked_sub(o.0).map(Fixed)
    }
    pub fn saturating_sub(self, o: Fixed) -> Fixed {
        Fixed(self.0.saturating_sub(o.0))
    }
    pub fn checked_mul(self, o: Fixed) -> Option<Fixed> {
        self.checked_mul_div(o, Fixed::ONE)
    }
    pub fn checked_div(self, o: Fixed) -> Option<Fixed> {
        self.checked_mul_div(Fixed::ONE, o)
    }
    pub fn checked_mul_div(self, b: Fixed, c: Fixed) -> Option<Fixed> {
        if c.0 == 0 {
            return None;
        }
        let r = (self.0 as f64 / 1e18) * (b.0 as f64 / 1e18) / (c.0 as f64 / 1e18);
        Some(Fixed((r * 1e18).round() as u128))
    }
    pub fn checked_pow_unit(self, e: Fixed) -> Option<Fixed> {
        if self > Fixed::ONE {
            return None;
        }
        Some(Fixed(
            ((self.0 as f64 / 1e18).powf(e.0 as f64 / 1e18) * 1e18).round() as u128,
        ))
    }
    pub fn to_f64_lossy(self) -> f64 {
        self.0 as f64 / 1e18
    }
    pub fn from_f64_shortest(x: f64) -> Result<Fixed, ParseFixedError> {
        format!("{x}").parse()
    }
}
impl core::fmt::Display for Fixed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let int = self.0 / Self::SCALE;
        let frac = self.0 % Self::SCALE;
        if frac == 0 {
            write!(f, "{int}")
        } else {
            let s = format!("{frac:018}");
            write!(f, "{int}.{}", s.trim_end_matches('0'))
        }
    }
}
impl core::fmt::Debug for Fixed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}
impl core::str::FromStr for Fixed {
    type Err = ParseFixedError;
    fn from_str(s: &str) -> Result<Fixed, ParseFixedError> {
        let (i, fr) = s.split_once('.').unwrap_or((s, ""));
        if i.is_empty()
            || fr.len() > 18
            || !i.bytes().all(|b| b.is_ascii_digit())
            || !fr.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(ParseFixedError::Invalid);
        }
        let i: u128 = i.parse().map_err(|_| ParseFixedError::Invalid)?;
        let fr_v: u128 = if fr.is_empty() {
            0
        } else {
            fr.parse::<u128>().map_err(|_| ParseFixedError::Invalid)?
                * 10u128.pow(18 - fr.len() as u32)
        };
        i.checked_mul(Self::SCALE)
            .and_then(|v| v.checked_add(fr_v))
            .map(Fixed)
            .ok_or(ParseFixedError::Invalid)
    }
}
