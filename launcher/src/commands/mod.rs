pub mod doctor;
pub mod presets;
pub mod print;
pub mod save;
pub mod save_service;
pub mod serve;
pub mod status;
