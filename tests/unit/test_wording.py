from tracker.wording import article, counted, word_for


def test_counted_is_singular_for_exactly_one():
    assert [counted(n, "row") for n in (0, 1, 2)] == ["0 rows", "1 row", "2 rows"]
    assert counted(1, "country", "countries") == "1 country"
    assert counted(3, "country", "countries") == "3 countries"


def test_word_for_names_a_list_singular_for_exactly_one():
    assert [word_for(n, "column") for n in (0, 1, 2)] == ["columns", "column", "columns"]
    assert [word_for(n, "is", "are") for n in (1, 2)] == ["is", "are"]


def test_article_before_a_dataset_name():
    assert f"{article('ACLED')} ACLED" == "an ACLED"
    assert f"{article('UCDP GED')} UCDP GED" == "a UCDP GED"
