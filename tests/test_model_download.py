import hashlib
import io
import urllib.error
import zipfile

import pytest

from voice_coach.errors import UserError
from voice_coach.model_download import MODEL_SHA256, MODEL_SIZE, download_model


def _fake_zip(name="vosk-model-test"):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{name}/am/final.mdl", b"model")
        z.writestr(f"{name}/conf/model.conf", b"--beam=10\n")
        z.writestr(f"{name}/README", b"fake")
    return buf.getvalue()


def _url(tmp_path, data):
    src = tmp_path / "src.zip"
    src.write_bytes(data)
    return src.as_uri()


def test_pinned_values():
    assert MODEL_SIZE == 41205931
    assert len(MODEL_SHA256) == 64


def test_success_unpacks_atomically(tmp_path):
    data = _fake_zip()
    models = tmp_path / "models"
    rc = download_model(models, url=_url(tmp_path, data), size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), name="vosk-model-test", quiet=True)
    assert rc == 0
    assert (models / "vosk-model-test" / "am" / "final.mdl").read_bytes() == b"model"
    assert sorted(p.name for p in models.iterdir()) == ["vosk-model-test"]  # no temp leftovers


def test_checksum_mismatch_leaves_nothing(tmp_path):
    data = _fake_zip()
    models = tmp_path / "models"
    with pytest.raises(UserError) as e:
        download_model(models, url=_url(tmp_path, data), size=len(data), sha256="0" * 64,
                       name="vosk-model-test", quiet=True)
    assert "SHA-256" in e.value.message and "\n" not in e.value.message
    assert list(models.iterdir()) == []


def test_size_mismatch_leaves_nothing(tmp_path):
    data = _fake_zip()
    models = tmp_path / "models"
    with pytest.raises(UserError):
        download_model(models, url=_url(tmp_path, data), size=len(data) + 1,
                       sha256=hashlib.sha256(data).hexdigest(), name="vosk-model-test", quiet=True)
    assert list(models.iterdir()) == []


def test_network_failure_is_one_line(tmp_path):
    def opener(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    models = tmp_path / "models"
    with pytest.raises(UserError) as e:
        download_model(models, opener=opener, quiet=True)
    msg = e.value.message
    assert "\n" not in msg and "network" in msg and "Temporary failure" in msg
    assert list(models.iterdir()) == []
