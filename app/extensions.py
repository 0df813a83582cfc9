"""Extensions, created unbound here and bound to an app in `create_app`."""

from flask_login import LoginManager
from flask_wtf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see this page."
login_manager.login_message_category = "info"
login_manager.session_protection = None  # the server-side login session does this job

csrf = CSRFProtect()
