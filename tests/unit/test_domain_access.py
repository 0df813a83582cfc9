from hypothesis import given
from hypothesis import strategies as st

from app.domain.access import ROLE_PERMISSIONS, Grant, Permission, Role, allows, site_scope

grants = st.lists(
    st.builds(Grant, role=st.sampled_from(Role),
              site_id=st.one_of(st.none(), st.integers(1, 5)),
              study_id=st.one_of(st.none(), st.integers(1, 3))),
    max_size=6,
)


def test_coordinator_sees_only_own_site():
    scope = site_scope([Grant(Role.COORDINATOR, site_id=1)])
    assert scope.includes(1)
    assert not scope.includes(2)
    assert not scope.includes(None)


def test_admin_and_data_manager_without_site_see_all_sites():
    assert site_scope([Grant(Role.ADMIN)]).all_sites
    assert site_scope([Grant(Role.DATA_MANAGER)]).includes(42)


def test_no_grants_sees_nothing():
    scope = site_scope([])
    assert not scope.all_sites and not scope.site_ids


def test_permissions_by_role():
    coordinator = [Grant(Role.COORDINATOR, site_id=1)]
    assert allows(coordinator, Permission.ENTER_DATA, 1)
    assert not allows(coordinator, Permission.ENTER_DATA, 2)
    assert not allows(coordinator, Permission.SIGN, 1)
    assert allows([Grant(Role.INVESTIGATOR, site_id=1)], Permission.SIGN, 1)
    assert not allows([Grant(Role.MONITOR, site_id=1)], Permission.ENTER_DATA, 1)
    assert allows([Grant(Role.MONITOR, site_id=1)], Permission.RAISE_QUERY, 1)


def test_study_scoped_grant():
    grant = [Grant(Role.COORDINATOR, site_id=1, study_id=7)]
    assert allows(grant, Permission.ENTER_DATA, 1, 7)
    assert not allows(grant, Permission.ENTER_DATA, 1, 8)


def test_every_role_can_at_least_view_a_site():
    assert all(Permission.VIEW_SITE in perms for perms in ROLE_PERMISSIONS.values())


@given(grants, st.integers(1, 5))
def test_scope_agrees_with_allows(gs, site_id):
    assert site_scope(gs).includes(site_id) == allows(gs, Permission.VIEW_SITE, site_id)


@given(grants, st.sampled_from(Permission), st.integers(1, 5))
def test_permission_at_a_site_implies_permission_anywhere(gs, permission, site_id):
    if allows(gs, permission, site_id):
        assert allows(gs, permission, anywhere=True)
