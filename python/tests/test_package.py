"""The package itself: version, devices, handles."""

import numpy as np

import clattn


def test_versions_agree():
    assert clattn.library_version() == clattn.__version__


def test_devices_list_the_default_one():
    devs = clattn.devices()
    assert devs and sum(d.is_default for d in devs) == 1
    assert [d.index for d in devs] == list(range(len(devs)))
    assert all(d.name and d.type in ("cpu", "gpu", "accelerator", "custom", "other") for d in devs)
    assert "clattn.Device 0" in repr(devs[0])


def test_handle_by_selector_and_as_context_manager():
    dev = clattn.devices()[0]
    for selector in (None, 0, str(dev.index), dev, dev.name[:6]):
        with clattn.Handle(selector) as h:
            assert h.device_name == dev.name or selector is None
            assert h.variant in ("cpu", "gpu")
            assert h.build_log == ""
        assert h.closed
    with clattn.Handle(variant="gpu", max_work_group_size=64) as h:
        assert h.variant == "gpu"
        x = np.random.default_rng(1).standard_normal((1, 1, 3, 16)).astype(np.float32)
        np.testing.assert_allclose(h.attention(x, x, x), clattn.ref.attention(x, x, x),
                                   rtol=1e-4, atol=3e-5)


def test_cpu_threads():
    n = clattn.cpu.threads()
    clattn.cpu.set_threads(1)
    assert clattn.cpu.threads() == 1
    clattn.cpu.set_threads(0)
    assert clattn.cpu.threads() >= 1 and n >= 1
