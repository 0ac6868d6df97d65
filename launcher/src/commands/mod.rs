pub mod doctor;
pub mod presets;
pub mod print;
pub mod save;
pub mod status;
