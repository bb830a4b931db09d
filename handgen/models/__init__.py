"""Neural networks: motion denoiser, motion tokenizer, AR model, grid UNet, object autoencoder."""
