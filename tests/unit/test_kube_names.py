"""apimachinery's name and label rules (k8s.io/apimachinery/pkg/util/validation), case by case."""

import pytest

from aion_factory import kube_names


@pytest.mark.parametrize(
    "key",
    ["simple", "now-with-dashes", "1-starts-with-num", "1234", "simple/simple", "now-with-dashes/simple",
     "now-with-dashes/now-with-dashes", "now.with.dots/simple", "now-with.dashes-and.dots/simple",
     "1-num.2-num/3-num", "1234/5678", "1.2.3.4/5678", "Uppercase_Is_OK_123", "example.com/Uppercase_Is_OK_123",
     "requests.storage-foo", "a" * 63, "a" * 253 + "/" + "b" * 63, "nvidia.com/gpu", "aion-factory.io/pool"],
)  # fmt: skip
def test_good_qualified_names(key):
    assert kube_names.qualified_name(key) == []


@pytest.mark.parametrize(
    "key",
    ["", "nospecialchars%^=@", "cantendwithadash-", "-cantstartwithadash-", "only/one/slash", "Example.com/abc",
     "example_com/abc", "example.com/", "/simple", "a" * 64, "a" * 254 + "/abc", "ends.with.dot./x", "has space"],
)  # fmt: skip
def test_bad_qualified_names(key):
    assert kube_names.qualified_name(key) != []


@pytest.mark.parametrize("value", ["", "simple", "now-with-dashes", "1-starts-with-num", "end-with-num-1", "1234", "A.b_C-9", "a" * 63])
def test_good_label_values(value):
    assert kube_names.label_value(value) == []


@pytest.mark.parametrize(
    "value",
    ["nospecialchars%^=@", "Tama-nui-te-rā.is.Māori.sun", "\\backslashes\\are\\bad", "-starts", "ends_", "a" * 64, "a/b", "has space"],
)
def test_bad_label_values(value):
    assert kube_names.label_value(value) != []


def test_dns1123_subdomain():
    assert kube_names.dns1123_subdomain("a.b-c.d") == [] and kube_names.dns1123_subdomain("a..b") != []
    assert kube_names.dns1123_subdomain("a" * 254) == ["must be no more than 253 characters"]
