"""The default StorageClass is an explicit choice: Scaleway Block Storage, or a class any local API server takes."""

from kube_validation import assert_valid_builtin

from aion_factory.platform.storage import NO_PROVISIONER, StorageClassChoice, storage_class

DEFAULT = "storageclass.kubernetes.io/is-default-class"


def test_scaleway_class_uses_the_csi_driver_at_the_specs_iops():
    for default_class, iops in (("sbs-5k", "5000"), ("sbs-15k", "15000")):
        obj = storage_class(StorageClassChoice.scaleway(default_class))  # type: ignore[arg-type]
        assert obj["metadata"] == {"name": f"aion-{default_class}", "annotations": {DEFAULT: "true"}}
        assert (obj["provisioner"], obj["parameters"]) == ("csi.scaleway.com", {"iops": iops})
        assert obj["volumeBindingMode"] == "WaitForFirstConsumer" and obj["allowVolumeExpansion"] is True
        assert_valid_builtin(obj)


def test_local_class_needs_no_csi_driver_unless_asked():
    obj = storage_class(StorageClassChoice.local())
    assert (obj["metadata"]["name"], obj["provisioner"]) == ("aion-local", NO_PROVISIONER)
    assert "parameters" not in obj and obj["metadata"]["annotations"] == {DEFAULT: "true"}
    assert storage_class(StorageClassChoice.local("rancher.io/local-path"))["provisioner"] == "rancher.io/local-path"
    assert_valid_builtin(obj)
