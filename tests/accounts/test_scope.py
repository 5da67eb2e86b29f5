from accounts.models import User
from accounts.selectors import node_visible_to, scope_q, user_can, user_scope_path
from grids.models import Node


def visible_grids(user) -> set[str]:
    return set(
        Node.objects.filter(scope_q(user=user, path_field="path"), kind=Node.Kind.GRID).values_list(
            "name", flat=True
        )
    )


def test_a_grid_worker_sees_his_own_grid_and_not_another_squads(town):
    assert visible_grids(town.wang) == {"A-01"}
    assert node_visible_to(user=town.wang, node=town.g1)
    assert not node_visible_to(user=town.wang, node=town.g3)
    assert not node_visible_to(user=town.wang, node=town.q1)  # not even his own squad above him
    assert user_scope_path(town.wang) == town.g1.path


def test_zhao_in_the_other_squad_sees_only_g3(town):
    assert visible_grids(town.zhao) == {"B-01"}
    assert not node_visible_to(user=town.zhao, node=town.g1)


def test_an_area_leader_sees_the_grids_of_his_area(town):
    assert visible_grids(town.sun) == {"A-01", "A-02"}


def test_the_command_centre_sees_the_whole_town(town):
    assert visible_grids(town.li) == visible_grids(town.chen) == {"A-01", "A-02", "B-01", "B-02"}


def test_no_scope_means_nothing_not_everything(town, make_user):
    nobody = make_user("noscope", User.Role.OPERATOR)
    assert visible_grids(nobody) == set()
    assert not node_visible_to(user=nobody, node=town.town)
    assert user_scope_path(nobody) is None


def test_the_three_administrators_see_no_business_data_even_with_a_scope(town, make_user):
    sys_admin = make_user("sysadmin", User.Role.SYS_ADMIN, scope=town.town)
    assert visible_grids(sys_admin) == set()


def test_a_deactivated_account_sees_nothing(town):
    town.wang.is_active = False
    assert visible_grids(town.wang) == set() and not node_visible_to(user=town.wang, node=town.g1)


def test_capabilities_follow_roles(town, settings):
    assert user_can(town.li, "case.dispatch") and not user_can(town.wang, "case.dispatch")
    assert user_can(town.chen, "pii.reveal") and not user_can(town.sun, "pii.reveal")
    settings.PII_REVEAL_ROLES = ["area_leader"]
    assert user_can(town.sun, "pii.reveal") and not user_can(town.chen, "pii.reveal")
