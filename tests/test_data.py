import functools
import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch

from replicate import data
from replicate.scales import ParameterError


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    return header + array.astype(np.uint8).tobytes()


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """A 6-train / 4-test MNIST in the real IDX format, gzipped, with checksums registered for it."""
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (6, 28, 28)),
              "train-labels-idx1-ubyte": np.array([0, 1, 2, 3, 1, 0]),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28)),
              "t10k-labels-idx1-ubyte": np.array([3, 2, 1, 0])}
    (tmp_path / "mnist").mkdir()
    for name, a in arrays.items():
        raw = idx_bytes(a)
        (tmp_path / "mnist" / f"{name}.gz").write_bytes(gzip.compress(raw))
        monkeypatch.setitem(data.CHECKSUMS, f"mnist/{name}", hashlib.sha256(raw).hexdigest())
    return tmp_path, arrays


def test_idx_loader_reads_real_format(tiny_mnist):
    root, arrays = tiny_mnist
    ds = data.load("mnist", root=root)
    assert ds.X_train.shape == (6, 1, 28, 28) and ds.X_test.shape == (4, 1, 28, 28)
    assert torch.equal(ds.y_train, torch.tensor([0, 1, 2, 3, 1, 0]))
    assert torch.allclose(ds.X_train[2, 0], torch.tensor(arrays["train-images-idx3-ubyte"][2] / 255.0, dtype=torch.float32))
    assert ds.flat().X_train.shape == (6, 784)


def test_raw_files_accepted_and_root_from_environment(tiny_mnist, monkeypatch):
    root, _ = tiny_mnist
    for gz in (root / "mnist").glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    monkeypatch.setenv("REPLICATE_DATA", str(root))
    assert data.load("mnist").X_train.shape[0] == 6


def test_corrupt_and_truncated_files_are_errors(tiny_mnist):
    root, _ = tiny_mnist
    path = root / "mnist" / "t10k-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-1] + b"\x09"))
    with pytest.raises(data.DataError, match="corrupt or truncated"):
        data.load("mnist", root=root)
    path.write_bytes(gzip.compress(raw)[:-5])
    with pytest.raises(data.DataError, match="corrupt or truncated"):
        data.load("mnist", root=root)


def test_missing_file_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    with pytest.raises(data.DataError, match=f"missing train-images-idx3-ubyte.*put it in {tmp_path}/mnist"):
        data.load("mnist", root=tmp_path)


@pytest.fixture
def http_mirror(tiny_mnist):
    """The tiny MNIST served over HTTP on the loopback interface (pooch downloads http/https only)."""
    handler = functools.partial(QuietHandler, directory=str(tiny_mnist[0]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_download_only_when_allowed(http_mirror, tmp_path_factory, monkeypatch):
    monkeypatch.setitem(data.MIRRORS, "mnist", http_mirror + "mnist/")
    root = tmp_path_factory.mktemp("empty")
    with pytest.raises(data.DataError, match="missing"):
        data.load("mnist", root=root, download=False)
    assert data.load("mnist", root=root, download=True).X_train.shape[0] == 6
    assert (root / "mnist" / "train-images-idx3-ubyte.gz").exists()


def test_cifar10_pickle_archive(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, n in [("data_batch_1", 5), ("data_batch_2", 3), ("test_batch", 4)]:
            payload = pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                    b"labels": list(rng.integers(0, 10, n))})
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    archive = buf.getvalue()
    (tmp_path / "cifar-10").mkdir()
    (tmp_path / "cifar-10" / "cifar-10-python.tar.gz").write_bytes(archive)
    with pytest.raises(data.DataError, match="corrupt or truncated"):  # the real checksum does not match
        data.load("cifar-10", root=tmp_path)
    monkeypatch.setitem(data.CHECKSUMS, "cifar-10/cifar-10-python.tar.gz", hashlib.sha256(archive).hexdigest())
    ds = data.load("cifar-10", root=tmp_path)
    assert ds.X_train.shape == (8, 3, 32, 32) and ds.X_test.shape == (4, 3, 32, 32)
    assert 0 <= ds.X_train.min() and ds.X_train.max() <= 1


def test_offline_defaults_and_subsets():
    ds = data.load("digits", n_train=100, n_test=50, classes=(7, 3), seed=1)
    assert ds.X_train.shape == (100, 1, 8, 8) and ds.num_classes == 2
    assert set(ds.y_train.tolist()) == {0, 1}
    assert torch.equal(ds.X_train, data.load("digits", n_train=100, n_test=50, classes=(7, 3), seed=1).X_train)
    full = data.load("digits", seed=1)
    sevens = full.X_train[full.y_train == 7]
    assert any(torch.equal(x, ds.X_train[ds.y_train == 0][0]) for x in sevens)  # class 7 relabelled 0
    m = data.load("mnist1d")
    assert m.X_train.shape == (4000, 40) and m.X_test.shape == (1000, 40)


def test_bad_dataset_and_sizes():
    with pytest.raises(ParameterError, match="dataset must be one of"):
        data.load("imagenet")
    with pytest.raises(ParameterError, match="asked for 5000 samples"):
        data.load("digits", n_train=5000)


def test_mlp_inputs_pool_flatten_and_scale():
    x = torch.rand(5, 1, 28, 28)
    z = data.mlp_inputs(x, pool=2)
    assert z.shape == (5, 196)
    assert torch.allclose(z.pow(2).sum(1), torch.full((5,), 196.0), rtol=1e-5)
    assert torch.allclose(z[0] / z[0].norm(), torch.nn.functional.avg_pool2d(x, 2)[0].flatten() /
                          torch.nn.functional.avg_pool2d(x, 2)[0].norm(), atol=1e-6)


def test_stand_in_only_in_a_dry_run(tmp_path, monkeypatch):
    monkeypatch.setenv("REPLICATE_DATA", str(tmp_path))
    monkeypatch.delenv("REPLICATE_DOWNLOAD", raising=False)
    with pytest.raises(data.DataError, match="missing cifar-10-python.tar.gz"):
        data.load_or_stand_in("cifar-10", n_train=4, n_test=2)
    ds, note = data.load_or_stand_in("cifar-10", n_train=4, n_test=2, dry_run=True)
    assert ds.X_train.shape == (4, 3, 32, 32) and ds.X_test.shape == (2, 3, 32, 32) and "stand in" in note
    real, note = data.load_or_stand_in("digits", n_train=4, n_test=2, dry_run=True)
    assert real.name == "digits" and note == ""
