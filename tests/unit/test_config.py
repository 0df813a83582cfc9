from app.config import SETTINGS, load_settings


def test_every_setting_has_a_default_entry_and_a_description():
    for name, (_default, _parse, doc) in SETTINGS.items():
        assert doc, name


def test_environment_overrides_default(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("MAIL_PORT", "2525")
    settings = load_settings()
    assert settings["DATABASE_URL"] == "sqlite:///elsewhere.db"
    assert settings["MAIL_PORT"] == 2525


def test_secure_cookie_on_in_production_off_in_development(monkeypatch):
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert load_settings({"APP_ENV": "production"})["SESSION_COOKIE_SECURE"] is True
    assert load_settings({"APP_ENV": "development"})["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("APP_ENV", "development")
    assert load_settings()["SESSION_COOKIE_SECURE"] is False


def test_explicit_overrides_win(monkeypatch):
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    assert load_settings({"MAIL_SERVER": "127.0.0.1"})["MAIL_SERVER"] == "127.0.0.1"
