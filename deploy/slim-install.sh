#!/bin/sh
# Drops from an installed yieldwatch (`npm install -g --prefix PREFIX yieldwatch-<v>.tgz`) what
# never runs: source maps, type declarations and docs of the dependencies (about 65 MB), and
# better-sqlite3's compiler output and SQLite sources when it was built here (about 27 MB).
# Used by deploy/Dockerfile; run on a prefix outside Docker it gives the same tree to measure.
set -eu
modules="$1/lib/node_modules/yieldwatch/node_modules"
test -d "$modules"
find "$modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' \) -delete
sqlite="$modules/better-sqlite3"
# Only the addon is loaded (lib/ finds it in build/Release); keep it, drop what built it.
addon="$sqlite/build/Release/better_sqlite3.node"
test -f "$addon"
mv "$addon" "$sqlite/better_sqlite3.node.keep"
rm -rf "$sqlite/build" "$sqlite/deps" "$sqlite/src"
mkdir -p "$sqlite/build/Release"
mv "$sqlite/better_sqlite3.node.keep" "$addon"
