// `import Attention` brings the whole public surface: the tensor type and errors (AttentionCore)
// and the .npy / .safetensors readers and writers (TensorFiles), which live in targets of their
// own because the engine itself does not need them.
@_exported import AttentionCore
@_exported import TensorFiles
