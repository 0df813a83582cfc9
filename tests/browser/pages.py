"""Page objects: each method is something a person does on the page."""

from __future__ import annotations

from playwright.sync_api import Page


class LoginPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def open(self) -> LoginPage:
        self.page.goto(f"{self.base_url}/login")
        return self

    def sign_in(self, username: str, password: str) -> None:
        self.page.get_by_label("Username", exact=True).fill(username)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in").click()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Sign out").click()


class AdminUsersPage:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def create(self, username: str, email: str, full_name: str, password: str) -> None:
        self.page.goto(f"{self.base_url}/admin/users/new")
        self.page.get_by_label("Username", exact=True).fill(username)
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Full name").fill(full_name)
        self.page.get_by_label("Initial password").fill(password)
        self.page.get_by_role("button", name="Create account").click()

    def grant(self, role: str, site: str) -> None:
        self.page.get_by_label("Role").select_option(label=role)
        self.page.get_by_label("Site").select_option(value=site)
        self.page.get_by_role("button", name="Grant role").click()
