"""Which Scaleway credentials are missing or stored in plain text, without Pulumi's runtime."""

from aion_factory.scaleway.credentials import credential_problems

ALL_ENV = {"SCW_ACCESS_KEY": "a", "SCW_SECRET_KEY": "s", "SCW_DEFAULT_PROJECT_ID": "p"}


def config_of(values):
    return values.get


def test_all_from_the_environment():
    assert credential_problems(ALL_ENV, config_of({}), lambda key: False) == []


def test_all_from_pulumi_secrets():
    values = {"scaleway:accessKey": "a", "scaleway:secretKey": "s", "scaleway:projectId": "p"}
    assert credential_problems({}, config_of(values), lambda key: True) == []


def test_each_missing_one_is_named_with_both_ways_to_set_it():
    problems = credential_problems({"SCW_ACCESS_KEY": "a", "SCW_SECRET_KEY": ""}, config_of({}), lambda key: False)
    how = "export it, or set the secret `pulumi config set --secret {} ...`"
    assert [(p.path, p.message) for p in problems] == [
        ("scaleway:secretKey", "SCW_SECRET_KEY is not set; " + how.format("scaleway:secretKey")),
        ("scaleway:projectId", "SCW_DEFAULT_PROJECT_ID is not set; " + how.format("scaleway:projectId")),
    ]


def test_a_plain_value_in_the_stack_config_is_refused_even_when_the_environment_has_it():
    [problem] = credential_problems(ALL_ENV, config_of({"scaleway:accessKey": "a"}), lambda key: False)
    assert str(problem).startswith("scaleway:accessKey: is stored in plain text in the stack config; remove it")


def test_mixing_sources_is_fine():
    values = {"scaleway:secretKey": "s"}
    env = {"SCW_ACCESS_KEY": "a", "SCW_DEFAULT_PROJECT_ID": "p"}
    assert credential_problems(env, config_of(values), lambda key: key == "scaleway:secretKey") == []
