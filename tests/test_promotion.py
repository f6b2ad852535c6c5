import pytest

from training_pipeline.errors import TemplateError
from training_pipeline.promotion import check_deploy_allowed, environment_for_ref


@pytest.mark.parametrize(
    ("ref", "env"),
    [("refs/heads/main", "dev"), ("refs/tags/staging", "staging"), ("refs/tags/prod", "prod")],
)
def test_each_promotion_ref_maps_to_one_environment(ref, env):
    assert environment_for_ref(ref) == env
    check_deploy_allowed(env, ref)


@pytest.mark.parametrize(
    "ref", ["refs/heads/feature", "refs/tags/v1.0", "refs/pull/1/merge", "refs/heads/prod", ""]
)
def test_other_refs_deploy_nowhere(ref):
    with pytest.raises(TemplateError, match="deploys to no environment"):
        environment_for_ref(ref)


def test_a_staging_tag_cannot_deploy_prod():
    with pytest.raises(TemplateError, match="refs/tags/staging deploys to staging, not prod"):
        check_deploy_allowed("prod", "refs/tags/staging")
