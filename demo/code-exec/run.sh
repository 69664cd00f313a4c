#!/usr/bin/env bash
# Built-in code execution, end to end with nothing but the gateway (no docker, no API key):
#   bash demo/code-exec/run.sh
# A mock model (the repo's OpenAI-format mock, scenario `toolloop`) asks for the user's text to be run as Python;
# the gateway runs it in its embedded sandbox (hardened Pyodide in a child process) and feeds the result back.
# Against a real model, put any model in place of `openai:toolloop` and ask in plain words.
source "$(dirname "$0")/../_tool-demo.sh"
start_gateway
echo "asking for 23! through otari_code_execution (first call warms the sandbox: a few seconds)..."
ask otari_code_execution $'import math\nprint(math.factorial(23))'
grep -q 25852016738884976640000 "$WORK/answer.json" && echo "OK: 23! = 25852016738884976640000"
