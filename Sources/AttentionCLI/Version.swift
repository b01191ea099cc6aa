/// The version `attention --version` prints: the package's release, bumped with each tag.
let attentionVersion = "0.4.0"
