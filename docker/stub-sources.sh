#!/bin/sh
# Placeholder sources for every target Cargo.toml declares, so the Dockerfile can build the
# dependencies alone, in a layer that source edits do not invalidate. CI runs this script
# too (.ci/run), so a new bench or binary cannot make the Docker build fail unseen.
set -eu
mkdir -p src benches
echo 'fn main() {}' > src/main.rs
: > src/lib.rs
for b in $(sed -n '/^\[\[bench\]\]/,/^name/ s/^name = "\(.*\)"/\1/p' Cargo.toml); do
    echo 'fn main() {}' > "benches/$b.rs"
done
