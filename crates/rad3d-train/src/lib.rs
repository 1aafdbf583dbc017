//! Datasets, embedding cache and training loops for RAD3D-Prefix
