"""The package itself: version, devices, handles."""

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
    # Options reach the library (the GPU-shaped kernels themselves are the C suites' business:
    # compiling them here would cost seconds).
    with clattn.Handle(variant="gpu", max_work_group_size=64) as h:
        assert h.variant == "gpu"


def test_cpu_threads():
    n = clattn.cpu.threads()
    clattn.cpu.set_threads(1)
    assert clattn.cpu.threads() == 1
    clattn.cpu.set_threads(0)
    assert clattn.cpu.threads() >= 1 and n >= 1
