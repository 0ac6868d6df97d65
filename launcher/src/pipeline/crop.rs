//! The centred crop that gives a capture the chosen aspect ratio.

use std::fmt;
use std::str::FromStr;

/// Aspect ratio of the captured picture: the screen's own, or a centred crop to a ratio.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    Native,
    Ratio(u32, u32),
}

impl FromStr for Aspect {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "native" {
            return Ok(Aspect::Native);
        }
        let parsed = text
            .split_once(':')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .filter(|(w, h)| (1..=100).contains(w) && (1..=100).contains(h));
        match parsed {
            Some((w, h)) => Ok(Aspect::Ratio(w, h)),
            None => Err(format!(
                "aspect \"{text}\" is not W:H; use native, 16:9, 21:9, 4:3, 1:1 or another ratio of numbers up to 100"
            )),
        }
    }
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Aspect::Native => f.write_str("native"),
            Aspect::Ratio(w, h) => write!(f, "{w}:{h}"),
        }
    }
}

/// A rectangle of the screen, in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl Region {
    pub fn full(width: u32, height: u32) -> Region {
        Region {
            x: 0,
            y: 0,
            width,
            height,
        }
    }

    pub fn is_full(&self, width: u32, height: u32) -> bool {
        *self == Region::full(width, height)
    }

    /// What `videocrop` takes off each side of a `width` x `height` picture to leave this
    /// region of it.
    pub fn margins(&self, width: u32, height: u32) -> Margins {
        Margins {
            left: self.x,
            right: width.saturating_sub(self.x + self.width),
            top: self.y,
            bottom: height.saturating_sub(self.y + self.height),
        }
    }
}

/// Pixels taken off each side of a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Margins {
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
}

/// The largest centred region of `width` x `height` with the aspect ratio, with even
/// dimensions (4:2:0 encoders need them): 5120x1440 at 16:9 gives 2560x1440 at (1280, 0).
pub fn centered_crop(width: u32, height: u32, aspect: Aspect) -> Region {
    let even = |v: u32| (v & !1).max(2);
    let (crop_width, crop_height) = match aspect {
        Aspect::Native => (even(width), even(height)),
        Aspect::Ratio(w, h) => {
            let (width64, height64, w, h) = (width as u64, height as u64, w as u64, h as u64);
            if width64 * h > height64 * w {
                (even((height64 * w / h) as u32), even(height))
            } else {
                (even(width), even((width64 * h / w) as u32))
            }
        }
    };
    Region {
        x: (width - crop_width) / 2,
        y: (height - crop_height) / 2,
        width: crop_width,
        height: crop_height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_design_examples() {
        let ultrawide = centered_crop(5120, 1440, "16:9".parse().unwrap());
        assert_eq!(
            ultrawide,
            Region {
                x: 1280,
                y: 0,
                width: 2560,
                height: 1440
            }
        );
        assert_eq!(
            centered_crop(1920, 1080, "16:9".parse().unwrap()),
            Region::full(1920, 1080)
        );
        assert_eq!(
            centered_crop(1920, 1080, "4:3".parse().unwrap()),
            Region {
                x: 240,
                y: 0,
                width: 1440,
                height: 1080
            }
        );
        assert_eq!(
            centered_crop(1920, 1080, "21:9".parse().unwrap()),
            Region {
                x: 0,
                y: 129,
                width: 1920,
                height: 822
            }
        );
        assert_eq!(
            centered_crop(1920, 1080, "1:1".parse().unwrap()),
            Region {
                x: 420,
                y: 0,
                width: 1080,
                height: 1080
            }
        );
    }

    #[test]
    fn margins_leave_the_region() {
        let region = centered_crop(1920, 1080, "4:3".parse().unwrap());
        assert_eq!(
            region.margins(1920, 1080),
            Margins {
                left: 240,
                right: 240,
                top: 0,
                bottom: 0
            }
        );
        let odd = centered_crop(641, 481, Aspect::Native);
        assert_eq!(
            odd.margins(641, 481),
            Margins {
                left: 0,
                right: 1,
                top: 0,
                bottom: 1
            }
        );
    }

    #[test]
    fn bad_ratios_explain_the_format() {
        let err = "16x9".parse::<Aspect>().unwrap_err();
        assert!(err.contains("16:9"), "{err}");
        assert!("0:1".parse::<Aspect>().is_err());
    }

    proptest! {
        #[test]
        fn crops_fit_are_centred_and_even(width in 16u32..8000, height in 16u32..8000, w in 1u32..30, h in 1u32..30) {
            let region = centered_crop(width, height, Aspect::Ratio(w, h));
            prop_assert!(region.x + region.width <= width && region.y + region.height <= height);
            prop_assert!(region.width.is_multiple_of(2) && region.height.is_multiple_of(2));
            prop_assert!(region.x.abs_diff(width - region.x - region.width) <= 1);
            prop_assert!(region.y.abs_diff(height - region.y - region.height) <= 1);
            prop_assert!(region.width == (width & !1) || region.height == (height & !1));
        }
    }
}
