#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| exlibris_fuzz::normaliser(data));
