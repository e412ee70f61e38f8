"""Data sets: offline defaults for the smoke/cpu scales and checksummed loaders for the paper scale.

Data root, in order: the `root` argument > $REPLICATE_DATA > ~/.cache/replicate. Layout under it:
`mnist/`, `fashion-mnist/` (the four IDX files, `.gz` or raw) and `cifar-10/cifar-10-python.tar.gz`.
Every file is verified by the sha256 of its *decompressed* bytes; a corrupt or truncated file is an
error. Files are downloaded from the official mirrors only when `download=True` (or $REPLICATE_DOWNLOAD=1), by
pooch (an atomic write, a progress bar); the checksum is then checked on the decompressed bytes as for
any other file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import warnings

import numpy as np
import torch
from tqdm import TqdmWarning

with warnings.catch_warnings():  # pooch imports tqdm.auto, which warns in a kernel without ipywidgets (plain bars work)
    warnings.simplefilter("ignore", TqdmWarning)
    import pooch

from replicate.runtime import on_cpu, show_progress
from replicate.scales import ParameterError

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# sha256 of the decompressed bytes (shared/data/README.md; identical to the official files).
CHECKSUMS = {
    "mnist/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "mnist/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "mnist/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "mnist/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "fashion-mnist/train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "fashion-mnist/train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "fashion-mnist/t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "fashion-mnist/t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    "cifar-10/cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
}

MIRRORS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "cifar-10": "https://www.cs.toronto.edu/~kriz/",
}

DATASETS = ("digits", "mnist1d", "mnist", "fashion-mnist", "cifar-10")


class DataError(RuntimeError):
    """A data file is missing, corrupt or truncated; the message says which and where to put it."""


@dataclass(frozen=True)
class Dataset:
    """Tensors of one data set: inputs float32 (N, ...) scaled to [0, 1] or standardised, labels int64."""

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    def flat(self) -> Dataset:
        """Inputs flattened to (N, features), for MLPs."""
        return Dataset(self.name, self.X_train.flatten(1), self.y_train, self.X_test.flatten(1),
                       self.y_test, self.num_classes)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """argument > $REPLICATE_DATA > ~/.cache/replicate."""
    if root is not None:
        return Path(root)
    if os.environ.get("REPLICATE_DATA"):
        return Path(os.environ["REPLICATE_DATA"])
    return Path.home() / ".cache" / "replicate"


def _download_allowed(download: bool | None) -> bool:
    return download if download is not None else os.environ.get("REPLICATE_DOWNLOAD") == "1"


def _verify(key: str, raw: bytes, source: Path) -> bytes:
    digest = hashlib.sha256(raw).hexdigest()
    if digest != CHECKSUMS[key]:
        raise DataError(f"{source} is corrupt or truncated (sha256 of its decompressed bytes is {digest[:12]}…, "
                        f"expected {CHECKSUMS[key][:12]}…): delete it and put the official file there")
    return raw


def _fetch(url: str, dest: Path) -> None:
    """Download url (http or https) to dest with pooch. No hash is given to pooch: the mirrors' compressed bytes
    differ (gzip headers), so the sha256 that identifies a data set is that of its decompressed bytes (`_verify`)."""
    pooch.retrieve(url, known_hash=None, fname=dest.name, path=dest.parent,
                   downloader=pooch.HTTPDownloader(timeout=60, progressbar=show_progress()))


def _read_verified(key: str, root: Path, download: bool | None, gz_name: str) -> bytes:
    """Decompressed, checksum-verified bytes of file `key` (e.g. 'mnist/t10k-labels-idx1-ubyte')."""
    folder, name = key.split("/")
    raw_path, gz_path = root / key, root / folder / gz_name
    if not raw_path.exists() and not gz_path.exists() and _download_allowed(download):
        _fetch(MIRRORS[folder] + gz_name, gz_path)
    if raw_path.exists():
        return _verify(key, raw_path.read_bytes(), raw_path)
    if gz_path.exists():
        try:
            raw = gzip.decompress(gz_path.read_bytes())
        except (OSError, EOFError) as err:
            raise DataError(f"{gz_path} is corrupt or truncated ({err}): delete it and put the official file there")
        return _verify(key, raw, gz_path)
    alternative = f" (or {gz_name})" if gz_name != name else ""
    raise DataError(f"missing {name}{alternative}: put it in {root / folder}/ (or set REPLICATE_DATA to a folder holding "
                    f"{folder}/), or allow a download with download=True or REPLICATE_DOWNLOAD=1")


def parse_idx(raw: bytes) -> np.ndarray:
    """IDX format: 2 zero bytes, dtype code 0x08 (ubyte), ndim, big-endian int32 sizes, then the data."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError("not an unsigned-byte IDX file")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(f"IDX file holds {data.size} bytes of data, its header says {shape}")
    return data.reshape(shape)


def load_idx_dataset(name: str, root=None, download: bool | None = None) -> Dataset:
    """MNIST or Fashion-MNIST: images (N, 1, 28, 28) in [0, 1], labels int64."""
    root = data_root(root)
    arrays = {part: parse_idx(_read_verified(f"{name}/{stem}", root, download, stem + ".gz"))
              for part, stem in IDX_FILES.items()}
    def images(a):
        return torch.from_numpy(a.astype(np.float32) / 255.0).unsqueeze(1)
    def labels(a):
        return torch.from_numpy(a.astype(np.int64))
    return Dataset(name, images(arrays["train_images"]), labels(arrays["train_labels"]),
                   images(arrays["test_images"]), labels(arrays["test_labels"]), 10)


def load_cifar10(root=None, download: bool | None = None) -> Dataset:
    """CIFAR-10 from the official python pickle archive: images (N, 3, 32, 32) in [0, 1]."""
    archive = _read_verified("cifar-10/cifar-10-python.tar.gz", data_root(root), download,
                             "cifar-10-python.tar.gz")
    batches = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            stem = Path(member.name).name
            if stem.startswith("data_batch_") or stem == "test_batch":
                # The official format is a pickle of a dict with b"data" (N, 3072) uint8 and b"labels".
                batches[stem] = pickle.load(tar.extractfile(member), encoding="bytes")
    train = [batches[k] for k in sorted(batches) if k.startswith("data_batch_")]
    if not train or "test_batch" not in batches:
        raise DataError("cifar-10-python.tar.gz holds no data_batch_* or no test_batch")
    def images(bs):
        x = np.concatenate([b[b"data"] for b in bs]).reshape(-1, 3, 32, 32)
        return torch.from_numpy(x.astype(np.float32) / 255.0)
    def labels(bs):
        return torch.tensor(np.concatenate([b[b"labels"] for b in bs]), dtype=torch.int64)
    return Dataset("cifar-10", images(train), labels(train), images([batches["test_batch"]]),
                   labels([batches["test_batch"]]), 10)


def load_digits(test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 8×8 digits (ship with the package), images (N, 1, 8, 8) in [0, 1]."""
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(d.target, dtype=torch.int64)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(y)))
    te, tr = perm[:n_test], perm[n_test:]
    return Dataset("digits", X[tr], y[tr], X[te], y[te], 10)


def load_mnist1d() -> Dataset:
    """mnist1d generated offline (4,000 + 1,000 samples of 40 features); never downloads."""
    from mnist1d.data import get_dataset_args, make_dataset

    d = make_dataset(get_dataset_args())
    return Dataset("mnist1d", torch.tensor(d["x"], dtype=torch.float32), torch.tensor(d["y"], dtype=torch.int64),
                   torch.tensor(d["x_test"], dtype=torch.float32), torch.tensor(d["y_test"], dtype=torch.int64), 10)


@on_cpu
def load(name: str, *, n_train: int | None = None, n_test: int | None = None, classes: tuple[int, ...] | None = None,
         seed: int = 0, root=None, download: bool | None = None) -> Dataset:
    """A data set by name, optionally restricted to some classes and to seeded random subsets."""
    if name not in DATASETS:
        raise ParameterError(f"dataset must be one of {', '.join(DATASETS)}; got {name!r}")
    if name == "digits":
        ds = load_digits(seed=seed)
    elif name == "mnist1d":
        ds = load_mnist1d()
    elif name == "cifar-10":
        ds = load_cifar10(root, download)
    else:
        ds = load_idx_dataset(name, root, download)
    return subset(ds, n_train=n_train, n_test=n_test, classes=classes, seed=seed)


@on_cpu
def subset(ds: Dataset, *, n_train: int | None = None, n_test: int | None = None,
           classes: tuple[int, ...] | None = None, seed: int = 0) -> Dataset:
    """Keep `classes` (relabelled 0..k-1 in the given order) and seeded random n_train / n_test samples."""
    g = torch.Generator().manual_seed(seed)
    def pick(X, y, n):
        if classes is not None:
            lookup = torch.full((ds.num_classes,), -1, dtype=torch.int64)
            lookup[list(classes)] = torch.arange(len(classes))
            keep = lookup[y] >= 0
            X, y = X[keep], lookup[y[keep]]
        if n is not None:
            if n > len(y):
                raise ParameterError(f"asked for {n} samples of {ds.name}, which has {len(y)}")
            idx = torch.randperm(len(y), generator=g)[:n]
            X, y = X[idx], y[idx]
        return X, y
    Xtr, ytr = pick(ds.X_train, ds.y_train, n_train)
    Xte, yte = pick(ds.X_test, ds.y_test, n_test)
    return Dataset(ds.name, Xtr, ytr, Xte, yte, len(classes) if classes is not None else ds.num_classes)


def one_hot(y: torch.Tensor, num_classes: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Labels → one-hot targets (for MSE)."""
    return torch.nn.functional.one_hot(y, num_classes).to(dtype)


def standardize(ds: Dataset) -> Dataset:
    """Subtract the training mean and divide by the training std, per feature (statistics of the train split)."""
    mean, std = ds.X_train.mean(0, keepdim=True), ds.X_train.std(0, keepdim=True).clamp_min(1e-6)
    return Dataset(ds.name, (ds.X_train - mean) / std, ds.y_train, (ds.X_test - mean) / std, ds.y_test, ds.num_classes)


def mlp_inputs(x: torch.Tensor, pool: int = 1) -> torch.Tensor:
    """Images (N, C, H, W) → MLP inputs: average-pooled by `pool`, flattened, each scaled to ‖x‖² = dimension
    (unit second moment per coordinate, the scaling under which He/NTK initialisations keep activations O(1))."""
    x = torch.nn.functional.avg_pool2d(x, pool).flatten(1) if pool > 1 else x.flatten(1)
    return x * x.shape[1] ** 0.5 / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


STAND_IN_SHAPES = {"cifar-10": (3, 32, 32), "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28)}


@on_cpu
def load_or_stand_in(name: str, *, n_train: int | None = None, n_test: int | None = None, seed: int = 0,
                     dry_run: bool = False) -> tuple[Dataset, str]:
    """`load(name, …)` and a note ("" for the real data). In a dry run only, a missing or corrupt file is replaced by
    seeded random tensors of the data set's shape, and the note says so; a real run raises the DataError."""
    try:
        return load(name, n_train=n_train, n_test=n_test, seed=seed), ""
    except DataError:
        if not dry_run or name not in STAND_IN_SHAPES:
            raise
    shape = STAND_IN_SHAPES[name]
    n_tr, n_te = n_train or 8, n_test or 8
    g = torch.Generator().manual_seed(seed)
    ds = Dataset("random", torch.rand(n_tr, *shape, generator=g), torch.randint(10, (n_tr,), generator=g),
                 torch.rand(n_te, *shape, generator=g), torch.randint(10, (n_te,), generator=g), 10)
    note = f"dry run: {name} file missing, random tensors of its shape ({'×'.join(map(str, shape))}) stand in"
    print(f"replicate: {note}", file=sys.stderr)  # streamed to the terminal by `replicate run`
    return ds, note
