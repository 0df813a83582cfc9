"""Page objects: each method is something a person does on the page."""

from __future__ import annotations

from playwright.sync_api import Page, expect


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


class ScreeningPage:
    """Start a screening, type a candidate's values, read the verdict, decide."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    def start(self, study: str, site: str, number: str) -> None:
        self.page.goto(f"{self.base_url}/screening/new")
        self.page.get_by_label("Study").select_option(value=study)
        self.page.get_by_label("Site").select_option(value=site)
        self.page.get_by_label("Screening number").fill(number)
        self.page.get_by_role("button", name="Start screening").click()
        expect(self.page.get_by_role("heading", name=f"Screening {number}")).to_be_visible()

    def choose_subgroup(self, code: str) -> None:
        self.page.locator("#subgroup").select_option(value=code)
        self.page.get_by_role("button", name="Set").click()
        expect(self.page.get_by_text("Sub-group set.")).to_be_visible()

    def enter(self, values: dict) -> None:
        """Types each value into its field, as a coordinator would from the source documents."""
        self.page.locator("details").evaluate_all("els => els.forEach(e => e.open = true)")
        for code, value in values.items():
            if isinstance(value, dict):
                self.page.locator(f'[name="{code}-value"]').fill(str(value["value"]))
                self.page.locator(f'[name="{code}-unit"]').select_option(value=value["unit"])
                if "uln" in value:
                    self.page.locator(f'[name="{code}-uln"]').fill(str(value["uln"]))
            elif isinstance(value, bool):
                self.page.locator(f'[name="{code}"][value="{"yes" if value else "no"}"]').check()
            else:
                field = self.page.locator(f'[name="{code}"]')
                if field.evaluate("el => el.tagName") == "SELECT":
                    field.select_option(value=str(value))
                else:
                    field.fill(str(value))

    def save(self) -> None:
        self.page.get_by_role("button", name="Save and check eligibility").click()
        expect(self.page.locator(".flash")).to_be_visible()

    def verdict(self) -> str:
        return self.page.locator(".verdict-summary").inner_text()
