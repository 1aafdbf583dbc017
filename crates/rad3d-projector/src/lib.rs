//! Prefix projectors (ClipCap transformer mapper, linear, R2GenGPT-style) and the RAD3D-Prefix variant catalogue
