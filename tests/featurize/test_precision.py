"""dtype="bfloat16" warns where the device has no bfloat16 arithmetic (it is slower there)."""

import numpy as np
import pytest

from skxfer.featurize import PrecisionWarning, PretrainedFeaturizer, _precision

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _fresh_detection():
    _precision._cpu_bfloat16.cache_clear()
    yield
    _precision._cpu_bfloat16.cache_clear()


def _net_and_rows():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 4))
    return net, np.random.default_rng(0).normal(size=(16, 6)).astype(np.float32)


def test_bfloat16_warns_where_the_device_would_emulate_it(monkeypatch):
    net, X = _net_and_rows()
    monkeypatch.setattr(
        _precision, "bfloat16_support", lambda device: (False, "the CPU (a test CPU, AVX2)")
    )
    with pytest.warns(PrecisionWarning, match=r"likely slower than float32 here: the CPU \(a test"):
        approx = PretrainedFeaturizer(net, dtype="bfloat16").fit_transform(X)
    exact = PretrainedFeaturizer(net).fit_transform(X)  # float32 never asks
    np.testing.assert_allclose(approx, exact, atol=0.05)  # computed as asked all the same

    monkeypatch.setattr(_precision, "bfloat16_support", lambda device: (True, "a bf16 CPU"))
    PretrainedFeaturizer(net, dtype="bfloat16").fit(X)  # no warning (the suite errors on one)
    monkeypatch.setattr(_precision, "bfloat16_support", lambda device: (None, "an unknown CPU"))
    PretrainedFeaturizer(net, dtype="bfloat16").fit(X)


@pytest.mark.parametrize(
    ("capability", "instructions", "isa", "native"),
    [
        ("AVX2", False, "", False),  # no bfloat16 instructions: emulated
        ("AVX512", False, "", False),  # AVX512 without avx512_bf16 (Skylake, Cascade Lake)
        ("AVX512", True, "", True),
        ("AVX2", True, "", True),  # torch's own kernels capped (ATEN_CPU_CAPABILITY): oneDNN
        ("AVX512", True, "AVX2", False),  # oneDNN capped (ONEDNN_MAX_CPU_ISA)
        ("AVX512", True, "AVX512_CORE_AMX", True),
    ],
)
def test_x86_detection(monkeypatch, capability, instructions, isa, native):
    monkeypatch.setattr(_precision.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: capability)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: instructions, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa)
    found, why = _precision.bfloat16_support(torch.device("cpu"))
    assert found is native
    assert capability in why


@pytest.mark.parametrize(
    ("flags", "native"), [({"fp", "asimd", "bf16"}, True), ({"fp", "asimd"}, False), (None, None)]
)
def test_arm_detection(monkeypatch, flags, native):
    monkeypatch.setattr(_precision.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(_precision, "_cpu_flags", lambda: flags)
    assert _precision.bfloat16_support(torch.device("cpu"))[0] is native


@pytest.mark.parametrize(("capability", "native"), [((7, 5), False), ((8, 0), True)])
def test_cuda_detection(monkeypatch, capability, native):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "a test GPU")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index: capability)
    monkeypatch.setattr(torch.version, "hip", None)
    found, why = _precision.bfloat16_support(torch.device("cuda"))
    assert found is native
    assert "a test GPU" in why


def test_this_machine_gets_an_answer():
    found, why = _precision.bfloat16_support(torch.device("cpu"))
    assert found in (True, False, None)
    assert why.startswith("the ")
