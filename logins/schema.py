"""How drf-spectacular describes this project's authentication in the OpenAPI schema."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class BlahajJWTScheme(SimpleJWTScheme):
    target_class = "logins.authentication.JWTAuthentication"
    name = "jwtAuth"
