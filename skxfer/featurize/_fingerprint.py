"""What identifies the function a ``torch.nn.Module`` computes, for the activation cache keys.

Two modules get the same fingerprint only when they compute the same function of their input.
The fingerprint is a digest of:

- every submodule, in order (shared ones each time they occur): its qualified name, its class
  (module and qualified name), ``extra_repr()`` and its plain attributes (the
  hyper-parameters a module keeps in ``self.*``, e.g. ``negative_slope``), read by value;
- the code of its class: the source (``inspect.getsource``) of every function the class and
  its bases above ``torch.nn.Module`` define, or their bytecode where the source is gone (a
  class typed at the interactive prompt);
- every parameter and buffer (persistent or not): name, dtype, shape and bytes;
- the forward hooks and pre-hooks on its submodules, by their code.

Some modules compute a function that this cannot pin down; they raise :class:`NotFingerprintable`
(the featurizer then warns and computes without the cache):

- the ``forward`` of code outside the installed packages (a script, a notebook, a project's own
  module), a method it calls on ``self`` or a function it calls by name, reads a global or
  closed-over variable that holds a mutable value (a list, dict, array, tensor, module or other
  object): its output can change while the module does not. Globals holding modules,
  functions, classes and immutable constants are part of the fingerprint. Installed packages
  (torch, transformers, ...) are identified by their source and not inspected further;
- an attribute holds an object that has no value to read (no ``__dict__``, no ``repr``);
- a TorchScript module (its attributes are not visible from Python);
- forward hooks registered for every module (``register_module_forward_hook``).

A forward hook that *changes* a block's output (returns a value) is found when it first runs;
see :class:`~skxfer.featurize._module.ModuleEncoder`.
"""

import contextlib
import dis
import enum
import functools
import hashlib
import inspect
import os
import site
import sys
import sysconfig
import types
import weakref

import numpy as np

#: Instance attributes every torch module has (torch's bookkeeping, not hyper-parameters).
_TORCH_ATTRIBUTES = None

# values read by their repr
_SIMPLE = (
    type(None),
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    type(Ellipsis),
    range,
    slice,
    enum.Enum,
)

# callables written in C, identified by their name (torch.tanh, len, numpy's ufuncs)
_BUILTIN_CALLABLES = (
    types.BuiltinFunctionType,
    types.BuiltinMethodType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    types.MethodWrapperType,
    types.ClassMethodDescriptorType,
    np.ufunc,
)


class NotFingerprintable(Exception):
    """The function a module computes cannot be identified reliably (the reason is the
    message)."""


def module_fingerprint(module, extra="", *, inspect_state=True):
    """A hex digest of what ``module`` computes (see the module docstring).

    Parameters
    ----------
    module : torch.nn.Module
    extra : str
        Mixed into the digest (how the encoder uses the module).
    inspect_state : bool
        Check the module's code for global state, its hooks and its attributes (a user's
        module). ``False`` for a library's model (transformers installs hooks of its own).

    Raises
    ------
    NotFingerprintable
        When ``inspect_state`` and the function cannot be identified reliably.
    """
    return _Fingerprint(inspect_state).module(module, extra)


class _Fingerprint:
    def __init__(self, inspect_state):
        import torch

        self.torch = torch
        self.strict = inspect_state
        self.hash = hashlib.blake2b(digest_size=16)
        self._classes = set()
        self._analysed = set()
        self._seen = set()

    def add(self, *parts):
        for part in parts:
            if isinstance(part, str):
                part = part.encode()
            part = memoryview(part).cast("B")
            self.hash.update(len(part).to_bytes(8, "little"))
            self.hash.update(part)

    # --- modules ------------------------------------------------------------------------

    def module(self, module, extra):
        self.add("module", extra)
        self.once(module, lambda: self._module(module))
        return self.hash.hexdigest()

    def _module(self, module):
        torch = self.torch
        if self.strict:
            from torch.nn.modules import module as torch_module

            if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
                raise NotFingerprintable(
                    "forward hooks are registered for every module "
                    "(torch.nn.modules.module.register_module_forward_hook)"
                )
        for qualified, sub in module.named_modules(remove_duplicate=False):
            cls = type(sub)
            if self.strict and isinstance(sub, torch.jit.ScriptModule):
                raise NotFingerprintable(
                    f"{qualified or 'the model'} is a TorchScript module, whose attributes "
                    "are not visible from Python"
                )
            self.add("sub", qualified, _qualname(cls))
            self.klass(cls)
            if self.strict:
                place = f"submodule {qualified!r}" if qualified else "the model"
                self.method_state(cls, "forward", place)
            try:
                self.add(str(sub.extra_repr()))
            except Exception:  # an extra_repr that fails is no hyper-parameter we can read
                self.add("?")
            for name, value in sorted(vars(sub).items()):
                if name not in _torch_attributes():
                    self.add("attr", name)
                    self.value(value, f"{qualified or 'the model'}.{name}")
            for kind in ("_forward_pre_hooks", "_forward_hooks"):
                for hook in getattr(sub, kind, {}).values():
                    self.add(kind)
                    self.callable(getattr(hook, "hook", hook))  # a ModuleEncoder watcher
        for kind, named in (
            ("param", module.named_parameters(remove_duplicate=False)),
            ("buffer", module.named_buffers(remove_duplicate=False)),
        ):
            for name, tensor in named:
                self.add(kind, name)
                self.tensor(tensor)
        for name, value in module.state_dict().items():  # extra state, packed params
            if not isinstance(value, torch.Tensor):
                self.add("state", name)
                self.value(value, name)

    def tensor(self, tensor):
        torch = self.torch
        tensor = tensor.detach()
        if tensor.is_quantized:
            self.add(repr((tensor.qscheme(), tensor.dtype)))
            tensor = tensor.int_repr()
        if tensor.layout != torch.strided:
            tensor = tensor.to_dense()
        array = tensor.cpu().contiguous()
        self.add(str(array.dtype), str(tuple(array.shape)))
        self.add(array.reshape(-1).view(torch.uint8).numpy())

    # --- code ---------------------------------------------------------------------------

    def klass(self, cls):
        """The code of ``cls`` and its bases above torch.nn.Module."""
        self.add(_qualname(cls))
        if cls in self._classes:
            return
        self._classes.add(cls)
        for base in cls.__mro__:
            if base is object or base is self.torch.nn.Module:
                break
            for name, member in sorted(vars(base).items()):
                function = _function_of(member)
                if function is not None:
                    self.add(name, _code_text(function))
                    self.closure(function, f"{cls.__qualname__}.{name}")

    def closure(self, function, where):
        """The values a function closes over (a class made by a factory function shares its
        source with its siblings; what it closes over tells them apart)."""
        for name, value in _closure(function).items():
            self.add("closure", name)
            self.value(value, f"{where} (closed-over {name!r})")

    def callable(self, obj, where=None):
        """A hook, or a callable attribute (``where`` names it): by its code. The global
        state of an attribute's function is checked like a forward's (it is called from one);
        a hook's is not (hooks that only watch, e.g. count rows, are common; one that changes
        an output is found when it runs)."""
        function = _function_of(obj)
        if function is not None:
            self.add("function", _code_text(function))
            if where is not None and self.strict:
                self.function_state(function, where)
            bound = getattr(obj, "__self__", None)
            if bound is not None and not isinstance(bound, types.ModuleType):
                self.value(bound, where or "a hook's object")
        elif isinstance(obj, functools.partial):
            self.callable(obj.func, where)
            self.value((obj.args, sorted(obj.keywords.items())), "a partial's arguments")
        else:
            self.add(_qualname(type(obj)))
            self.klass(type(obj))

    def method_state(self, cls, name, where):
        """Check ``cls.name`` (of code outside the installed packages) for global state."""
        function = _function_of(getattr(cls, name, None))
        if function is not None:
            self.function_state(function, where, cls)

    def function_state(self, function, where, cls=None):
        """Check a function of code outside the installed packages (``where`` says what runs
        it) for the global and closed-over values it reads, and the methods of ``cls`` and
        the functions it calls."""
        if function in self._analysed or _installed(function.__module__):
            return
        self._analysed.add(function)
        code = function.__code__
        closure = _closure(function)
        for instruction in _instructions(code):
            name = instruction.argval
            if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
                if name in function.__globals__:
                    value = function.__globals__[name]
                    self.reference(value, name, "global", function, where)
            elif instruction.opname in ("LOAD_DEREF", "LOAD_CLASSDEREF") and name in closure:
                self.reference(closure[name], name, "closed-over variable", function, where)
            elif (
                cls is not None
                and instruction.opname in ("LOAD_METHOD", "LOAD_ATTR")
                and _function_of(inspect.getattr_static(cls, name, None)) is not None
            ):
                self.method_state(cls, name, where)

    def reference(self, value, name, kind, function, where):
        """A global (or closed-over) value that ``function`` reads (``where`` runs it): part
        of the fingerprint when it cannot change, refused when it can."""
        self.add(kind, name)
        if isinstance(value, types.ModuleType):
            self.add(value.__name__)
        elif isinstance(value, type):
            self.klass(value)
        elif isinstance(value, types.FunctionType):
            self.add(_code_text(value))
            self.function_state(value, where)
        elif isinstance(value, _BUILTIN_CALLABLES):
            self.add(_name(value))
        elif _immutable(value):
            self.add(repr(value))
        else:
            raise NotFingerprintable(
                f"{function.__qualname__} (run by {where}) reads the {kind} {name!r} (a "
                f"{type(value).__name__}), "
                "which can change while the module does not; make it an attribute, a buffer "
                "or a submodule of the module"
            )

    # --- attribute values ---------------------------------------------------------------

    def value(self, value, where):
        torch = self.torch
        if isinstance(value, _SIMPLE):
            self.add(type(value).__name__, repr(value))
        elif isinstance(value, torch.Tensor):
            self.add("tensor")
            self.tensor(value)
        elif isinstance(value, np.ndarray):
            self.add("array", value.dtype.str, str(value.shape))
            if value.dtype.hasobject:
                self.value(value.tolist(), where)
            else:
                self.add(np.ascontiguousarray(value).reshape(-1).view(np.uint8))
        elif isinstance(value, torch.dtype | torch.device | torch.Size):
            self.add(repr(value))
        elif isinstance(value, types.ModuleType):
            self.add("module", value.__name__)
        elif isinstance(value, type):
            self.klass(value)
        elif isinstance(value, list | tuple | set | frozenset | dict):
            self.container(value, where)
        elif isinstance(value, torch.nn.Module):  # a module kept outside its submodules
            self.module(value, "attribute")
        elif _function_of(value) is not None or isinstance(value, functools.partial):
            self.callable(value, where)
        elif isinstance(value, _BUILTIN_CALLABLES):
            self.add(_name(value))
        elif isinstance(value, weakref.ref):
            self.value(value(), where)
        elif type(value).__repr__ is not object.__repr__ and " at 0x" not in repr(value):
            self.add(_qualname(type(value)), repr(value))
        elif hasattr(value, "__dict__"):
            self.add(_qualname(type(value)))
            self.once(value, lambda: self.value(vars(value), where))
        elif self.strict:
            raise NotFingerprintable(
                f"{where} holds a {type(value).__name__}, whose value cannot be read"
            )
        else:
            self.add(_qualname(type(value)))

    def container(self, value, where):
        self.add(type(value).__name__, str(len(value)))
        if isinstance(value, dict):
            items = list(value.items())
        elif isinstance(value, set | frozenset):
            items = sorted(value, key=repr)
        else:
            items = list(value)

        def each():
            for item in items:
                self.value(item, where)

        self.once(value, each)

    def once(self, obj, visit):
        """Visit a mutable object once per path (objects may refer back to themselves)."""
        if id(obj) in self._seen:
            self.add("<seen>")
            return
        self._seen.add(id(obj))
        try:
            visit()
        finally:
            self._seen.discard(id(obj))


# --- helpers ------------------------------------------------------------------------------


def _torch_attributes():
    global _TORCH_ATTRIBUTES
    if _TORCH_ATTRIBUTES is None:
        import torch

        _TORCH_ATTRIBUTES = frozenset(vars(torch.nn.Module()))
    return _TORCH_ATTRIBUTES


def _closure(function):
    values = {}
    for name, cell in zip(function.__code__.co_freevars, function.__closure__ or ()):
        with contextlib.suppress(ValueError):  # a cell not filled yet
            values[name] = cell.cell_contents
    return values


def _name(obj):
    """The name of a callable written in C."""
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    module = getattr(obj, "__module__", None)
    return f"{module}.{name}" if name else repr(obj)


def _qualname(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _function_of(member):
    """The Python function behind a method, static or class method, property or bound
    method; None for anything else (builtins, data)."""
    if isinstance(member, staticmethod | classmethod):
        member = member.__func__
    elif isinstance(member, property):
        member = member.fget
    member = inspect.unwrap(member) if callable(member) else member
    if isinstance(member, types.MethodType):
        member = member.__func__
    return member if isinstance(member, types.FunctionType) else None


def _code_text(function):
    """The source of ``function``, or where it is gone, its bytecode (exact for this Python)."""
    return _code_text_of(function, function.__code__)


@functools.lru_cache(maxsize=8192)
def _code_text_of(function, code):
    # keyed by the code object too: reassigning a function's __code__ is seen
    try:
        return f"{function.__module__}.{function.__qualname__}\n{inspect.getsource(function)}"
    except (OSError, TypeError):
        return f"{function.__module__}.{function.__qualname__}\n{_bytecode(function.__code__)}"


def _bytecode(code):
    consts = [_bytecode(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts]
    return repr(
        (
            code.co_code.hex(),
            consts,
            code.co_names,
            code.co_varnames,
            code.co_freevars,
            code.co_cellvars,
            code.co_argcount,
            code.co_kwonlyargcount,
            code.co_flags,
        )
    )


def _instructions(code):
    """The instructions of ``code`` and of the code it nests (comprehensions, lambdas)."""
    yield from dis.get_instructions(code)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _instructions(const)


def _immutable(value):
    if isinstance(value, _SIMPLE):
        return True
    if isinstance(value, tuple | frozenset):
        return all(_immutable(v) for v in value)
    module = sys.modules.get("torch")
    return module is not None and isinstance(value, module.dtype | module.device)


@functools.cache
def _library_roots():
    paths = {*site.getsitepackages(), site.getusersitepackages()}
    paths |= {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    return tuple(os.path.join(os.path.realpath(p), "") for p in paths if p)


@functools.cache
def _installed_file(path):
    return os.path.realpath(path).startswith(_library_roots())


def _installed(module_name):
    """Whether a module is installed code (the standard library, site-packages) rather than
    a script, a notebook or a project's own module."""
    if module_name == "__main__" or not module_name:
        return False
    module = sys.modules.get(module_name)
    if module is None:
        return False
    path = getattr(module, "__file__", None)
    if path is None:
        return module_name in sys.builtin_module_names
    return _installed_file(path)
