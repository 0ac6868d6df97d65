//! What the capture side and the encoder side of a pipeline agree on: the platform, and the
//! memory and raw format in which frames reach the encoder.

use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    Linux,
    Windows,
}

impl Platform {
    pub fn current() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Linux
        }
    }
}

impl FromStr for Platform {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "linux" => Ok(Platform::Linux),
            "windows" => Ok(Platform::Windows),
            other => Err(format!("platform \"{other}\" is not linux or windows")),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputMemory {
    System,
    D3D11,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawFormat {
    Nv12,
    I420,
}

impl RawFormat {
    pub fn name(self) -> &'static str {
        match self {
            RawFormat::Nv12 => "NV12",
            RawFormat::I420 => "I420",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderInput {
    pub memory: InputMemory,
    pub format: RawFormat,
}
