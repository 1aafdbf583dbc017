//! Multi-label anomaly classifier over CT-CLIP latents: label sets, weighted BCE training, AUROC/F1
