//! METEOR 1.5 as pycocoevalcap runs it (`-l en -norm`).
