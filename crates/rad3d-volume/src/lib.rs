//! NIfTI CT input, Hounsfield units, orientation, resampling and CT-CLIP preprocessing
