"""check-app's reading of Flask-Admin pages: form filling, row links (HTML shaped like its own)."""

from __future__ import annotations

from flask_admin_compat.checkapp.forms import fill, first_lookup_id, why_not_saved
from flask_admin_compat.checkapp.walk import row_links

CREATE_PAGE = """
<form action="" method="GET" class="search"><input name="search" value=""></form>
<form action="" method="POST" role="form" enctype="multipart/form-data">
  <input id="csrf_token" name="csrf_token" type="hidden" value="tok">
  <input class="form-control" id="name" maxlength="12" name="name" required type="text" value="">
  <input id="nickname" name="nickname" type="text" value="">
  <input id="email" name="email" required type="email" value="">
  <input id="age" min="3" name="age" required type="number" value="">
  <input data-date-format="YYYY-MM-DD" data-role="datepicker" id="born" name="born" required
         type="text" value="">
  <textarea id="bio" name="bio" required></textarea>
  <select id="team" name="team" required>
    <option value="__None"></option><option value="7">red</option><option value="9">blue</option>
  </select>
  <select id="coach" name="coach"><option value="__None"></option><option value="1">x</option>
  </select>
  <input data-role="select2-ajax" data-url="/admin/post/ajax/lookup/?name=author" id="author"
         name="author" type="hidden">
  <input id="active" name="active" type="checkbox" value="y">
  <input name="_add_another" type="submit" value="Save and Add Another">
  <input name="_continue_editing" type="submit" value="Save and Continue Editing">
</form>
"""


def test_a_create_form_gets_values_only_where_it_requires_them() -> None:
    asked: list[str] = []

    def lookup(url: str) -> str:
        asked.append(url)
        return "42"

    filled = fill(CREATE_PAGE, lookup=lookup, change=False)
    data = filled.data
    assert data["csrf_token"] == "tok"
    # maxlength kept; the unique end kept (two rows made in one run must not collide)
    assert len(data["name"]) == 12
    assert data["name"][-8:] == data["bio"][-8:]
    assert data["email"].endswith("@example.com")
    assert data["age"] == "3"
    assert data["born"] == "2000-01-01"
    assert data["bio"].startswith("check-app-")
    assert data["team"] == "7"  # required: the first real option, never the blank one
    assert "coach" not in data  # optional: left blank
    assert "nickname" not in data
    assert data["author"] == "42"  # required ajax field: the first id its lookup offers
    assert asked == ["/admin/post/ajax/lookup/?name=author"]
    # Unchecked boxes are not sent, nor are Flask-Admin's named submit buttons (they change
    # where the create redirects) or another form's fields.
    assert not {"active", "_add_another", "_continue_editing", "search"} & set(data)
    assert filled.unfilled == ()


EDIT_PAGE = """
<form method="post">
  <input name="csrf_token" type="hidden" value="tok">
  <input name="name" required type="text" value="check-app-1234">
  <input name="nickname" type="text" value="kept">
  <select name="team" required><option value="7">red</option><option selected value="9">b</option>
  </select>
  <input checked name="active" type="checkbox" value="y">
  <textarea name="bio">old &amp; true</textarea>
</form>
"""


def test_an_edit_keeps_what_the_row_holds_and_changes_its_required_text() -> None:
    data = fill(EDIT_PAGE, lookup=lambda url: "", change=True).data
    assert data["name"] != "check-app-1234"
    assert data["name"].startswith("check-app-")
    assert data["nickname"] == "kept"
    assert data["team"] == "9"
    assert data["active"] == "y"
    assert data["bio"] == "old & true"


def test_a_required_choice_with_nothing_to_choose_is_named() -> None:
    page = '<form method="POST"><select name="author" required><option value="__None">'
    page += "</option></select></form>"
    filled = fill(page, lookup=lambda url: "", change=False)
    assert filled.unfilled == ("author",)
    assert why_not_saved("<p>form again</p>", filled) == ("nothing to fill in for required author")


def test_an_ajax_lookup_answer_gives_its_first_id() -> None:
    assert first_lookup_id('[[3, "ada"], [4, "bob"]]') == "3"
    assert first_lookup_id("[]") == ""
    assert first_lookup_id("<html>login</html>") == ""


def test_row_links_are_the_views_own() -> None:
    page = (
        '<a href="/admin/author/edit/?id=9&amp;url=%2Fadmin%2Fpost%2F">ada</a>'
        '<a href="/admin/post/edit/?id=1&amp;url=%2Fadmin%2Fpost%2F">edit</a>'
    )
    assert row_links(page, "/admin/post/", "edit") == [
        "/admin/post/edit/?id=1&url=%2Fadmin%2Fpost%2F"
    ]
    assert row_links(page, "/admin/post/", "details") == []


def test_a_form_that_came_back_says_why() -> None:
    page = (
        '<div class="alert alert-danger alert-dismissable">'
        '<button type="button" class="close" data-dismiss="alert">&times;</button>'
        "Failed to create record. Object is already attached to session &#39;24&#39;</div>"
        '<div class="invalid-feedback">This field is required.</div>'
    )
    filled = fill(
        '<form method="post"><input name="title" value="t"></form>',
        lookup=lambda url: "",
        change=False,
    )
    assert why_not_saved(page, filled) == (
        "Failed to create record. Object is already attached to session '24'; "
        "This field is required. (sent: title)"
    )


def test_a_validators_message_gives_its_examples() -> None:
    from flask_admin_compat.checkapp.values import examples

    assert examples('Not a valid color (e.g. "red", "#f00", "#ff0000").') == (
        "red",
        "#f00",
        "#ff0000",
    )
    assert examples("Not a valid ISO currency code (e.g. USD, EUR, CNY).") == ("USD", "EUR", "CNY")
    assert examples("Only numbers are allowed.") == ()


REFUSED = """
<form method="post">
  <input class="form-control is-invalid" name="zone" required type="text" value="check-app-1">
  <div class="invalid-feedback">Not a valid timezone (e.g. "Asia/Singapore", "UTC").</div>
  <input class="form-control is-invalid" name="phone" type="text" value="x">
  <div class="invalid-feedback">Only numbers are allowed.</div>
</form>
"""
ZONE_AND_PHONE = (
    '<form method="post"><input name="zone" required type="text" value="">'
    '<input name="phone" required type="text" value=""></form>'
)


def test_a_refused_field_gets_the_messages_examples_then_other_shapes() -> None:
    from flask_admin_compat.checkapp.forms import Learned

    learned = Learned()
    first = fill(ZONE_AND_PHONE, lookup=lambda url: "", change=False, learned=learned)
    assert first.data["zone"].startswith("check-app-")
    assert learned.learn(REFUSED, first)
    second = fill(ZONE_AND_PHONE, lookup=lambda url: "", change=False, learned=learned)
    assert second.data["zone"] == "Asia/Singapore"
    assert second.data["phone"].isdigit()  # no example: the first shape tried is digits
    assert learned.learn(REFUSED, second)
    assert (
        fill(ZONE_AND_PHONE, lookup=lambda url: "", change=False, learned=learned).data["zone"]
        == "UTC"
    )


def test_learning_stops_when_every_shape_was_refused() -> None:
    from flask_admin_compat.checkapp.forms import Learned

    learned = Learned()
    rounds = 0
    filled = fill(ZONE_AND_PHONE, lookup=lambda url: "", change=False, learned=learned)
    while learned.learn(REFUSED, filled):
        rounds += 1
        filled = fill(ZONE_AND_PHONE, lookup=lambda url: "", change=False, learned=learned)
        assert rounds < 50
    assert rounds >= 2


INLINE_PAGE = """
<form method="post">
  <input name="name" required type="text" value="">
  <div class="inline-field" id="rooms">
    <div class="inline-field-list">
      <div id="rooms-0" class="inline-field card">
        <input name="rooms-0-id" type="hidden" value="4">
        <input name="rooms-0-label" required type="text" value="hall">
      </div>
    </div>
    <div class="inline-field-template d-none">
      &lt;div class=&#34;inline-field card&#34;&gt;
      &lt;input id=&#34;id&#34; name=&#34;id&#34; type=&#34;hidden&#34; value=&#34;&#34;&gt;
      &lt;input name=&#34;label&#34; required type=&#34;text&#34; value=&#34;&#34;&gt;
      &lt;input name=&#34;floor&#34; type=&#34;text&#34; value=&#34;&#34;&gt;
      &lt;/div&gt;
    </div>
  </div>
</form>
"""


def test_a_create_adds_one_filled_row_to_each_inline_list_after_those_shown() -> None:
    data = fill(INLINE_PAGE, lookup=lambda url: "", change=False, children="add").data
    assert data["rooms-1-id"] == ""
    assert data["rooms-1-label"].startswith("check-app-")
    assert "rooms-1-floor" not in data  # optional: left out, as a browser leaves it blank
    assert data["rooms-0-label"] == "hall"
    # the template itself is not posted
    assert "label" not in data
    assert "floor" not in data


def test_an_edit_that_drops_children_marks_every_inline_row_deleted() -> None:
    data = fill(INLINE_PAGE, lookup=lambda url: "", change=True, children="drop").data
    assert data["del-rooms-0"] == "on"
    assert not any(name.startswith("rooms-1") for name in data)
    assert fill(INLINE_PAGE, lookup=lambda url: "", change=True).data.get("del-rooms-0") is None


def test_field_errors_are_read_in_every_themes_markup() -> None:
    from flask_admin_compat.checkapp.forms import field_errors

    bootstrap4 = (
        '<input class="form-control is-invalid" name="phone" value="x">'
        '<div class="invalid-feedback"><ul><li>Only numbers are allowed.</li></ul></div>'
    )
    bootstrap3 = (
        '<div class="form-group has-error"><input class="form-control" name="phone" value="x">'
        '<ul class="help-block input-errors"><li>Only numbers<br>are allowed.</li></ul></div>'
        '<div class="form-group"><input name="name" value="ok"></div>'
    )
    bootstrap2 = (
        '<div class="control-group error"><div class="controls">'
        '<input name="phone" type="text" value="x"><ul class="input-errors">'
        "<li>Only numbers are allowed.</li></ul></div></div>"
    )
    for page in (bootstrap4, bootstrap3, bootstrap2):
        said = {name: " ".join(messages) for name, messages in field_errors(page).items()}
        assert said == {"phone": "Only numbers are allowed."}, page


def test_a_refused_option_is_followed_by_the_next_one() -> None:
    from flask_admin_compat.checkapp.forms import Learned

    page = (
        '<form method="post"><select name="size" required><option value="__None"></option>'
        '<option value="s">S</option><option value="m">M</option></select></form>'
    )
    refused = (
        '<select class="is-invalid" name="size"><option selected value="s">S</option></select>'
        '<div class="invalid-feedback">Out of stock</div>'
    )
    learned = Learned()
    first = fill(page, lookup=lambda url: "", change=False, learned=learned)
    assert first.data["size"] == "s"
    assert learned.learn(refused, first)
    assert fill(page, lookup=lambda url: "", change=False, learned=learned).data["size"] == "m"
