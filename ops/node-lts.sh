# Sourced, not run: `source ops/node-lts.sh` (ops/setup.sh and .ci/run do). Puts a Node.js of the maintained LTS line
# the project targets (package.json "engines") first on PATH for the calling shell and everything it starts. Node 20
# is past end of life and several dependencies need Node >= 22, while Debian 12's apt has Node 20 at best: when the
# node on PATH is older, the official Node 22 binary is installed from the npm registry (the `node-linux-<arch>`
# package, the same binary the `node` package links to, integrity-checked by npm) into a per-user cache, not
# system-wide, so nothing else on the machine changes. Idempotent: a second source finds it in place.
KIDSTREAM_NODE_MAJOR=22

kidstream_node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

if [ "$(kidstream_node_major)" -lt "$KIDSTREAM_NODE_MAJOR" ]; then
  case "$(uname -m)" in
    x86_64) kidstream_arch=x64 ;;
    aarch64 | arm64) kidstream_arch=arm64 ;;
    *) kidstream_arch=$(uname -m) ;;
  esac
  kidstream_node_dir="${XDG_CACHE_HOME:-$HOME/.cache}/kidstream/node-$KIDSTREAM_NODE_MAJOR"
  kidstream_node_bin="$kidstream_node_dir/node_modules/node-linux-$kidstream_arch/bin"
  if [ ! -x "$kidstream_node_bin/node" ]; then
    echo "setup: node $(node --version 2>/dev/null || echo missing) is older than $KIDSTREAM_NODE_MAJOR; installing node-linux-$kidstream_arch@$KIDSTREAM_NODE_MAJOR into $kidstream_node_dir"
    mkdir -p "$kidstream_node_dir"
    npm install --prefix "$kidstream_node_dir" --no-save --no-package-lock --no-audit --no-fund \
      "node-linux-$kidstream_arch@$KIDSTREAM_NODE_MAJOR" >/dev/null
  fi
  export PATH="$kidstream_node_bin:$PATH"
  hash -r
fi
if [ "$(kidstream_node_major)" -lt "$KIDSTREAM_NODE_MAJOR" ]; then
  echo "setup: no Node.js >= $KIDSTREAM_NODE_MAJOR on PATH (have $(node --version 2>/dev/null || echo none))" >&2
  return 1 2>/dev/null || exit 1
fi
