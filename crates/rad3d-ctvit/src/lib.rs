//! CT-CLIP's CT-ViT image encoder, latent head and checkpoint loading
