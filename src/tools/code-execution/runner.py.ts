/**
 * The Python side of the sandbox worker: runs one snippet in the session's namespace, like a notebook cell
 * (top-level `await` allowed; the value of a final expression is printed as its repr), and turns the way it ended
 * into a return code: 0, 1 for an uncaught exception (traceback on stderr, the runner's own frames removed), or
 * `SystemExit.code`. It catches BaseException, so `sys.exit`, `raise SystemExit(3)` or `KeyboardInterrupt` never
 * reach the interpreter's top level (an uncaught SystemExit hung the hardened worker).
 */
export const RUNNER_SOURCE = `
import ast as _ast
import sys as _sys
import traceback as _traceback

_CO_COROUTINE = 0x80
_FLAGS = _ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
_ns = {"__name__": "__main__", "__builtins__": __builtins__}


def _user_tb(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename != "<code>":
        tb = tb.tb_next
    return tb


def _flush():
    for stream in (_sys.stdout, _sys.stderr, _sys.__stdout__, _sys.__stderr__):
        try:
            stream.flush()
        except BaseException:
            pass


async def _eval(code_obj):
    value = eval(code_obj, _ns)
    if code_obj.co_flags & _CO_COROUTINE:
        value = await value
    return value


async def run(source):
    rc = 0
    try:
        try:
            tree = _ast.parse(source, "<code>", "exec")
        except SyntaxError as e:
            _sys.stderr.write("".join(_traceback.format_exception_only(type(e), e)))
            return 1
        last = None
        if tree.body and isinstance(tree.body[-1], _ast.Expr):
            last = _ast.Expression(tree.body.pop().value)
        await _eval(compile(tree, "<code>", "exec", flags=_FLAGS))
        if last is not None:
            value = await _eval(compile(last, "<code>", "eval", flags=_FLAGS))
            if value is not None:
                print(repr(value))
    except SystemExit as e:
        code = e.code
        if code is None:
            rc = 0
        elif isinstance(code, int):
            rc = code
        else:
            print(code, file=_sys.stderr)
            rc = 1
    except BaseException as e:
        try:
            _sys.stderr.write("".join(_traceback.format_exception(type(e), e, _user_tb(e.__traceback__))))
        except BaseException:
            _sys.stderr.write(type(e).__name__ + "\\n")
        rc = 1
    finally:
        _flush()
    return rc
`;
