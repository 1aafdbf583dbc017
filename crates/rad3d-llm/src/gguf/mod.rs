//! GGUF (llama.cpp) model files: metadata, tensors, dequantization.
