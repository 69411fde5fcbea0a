"""The staff administration API's routes under /api/ (docs/api.md §3)."""

from rest_framework.routers import SimpleRouter

from .views import StaffUserViewSet

router = SimpleRouter()
# An optional slash, like /api/operations/: `/api/users/alice/approve` and `.../approve/`.
router.trailing_slash = "/?"
router.register("users", StaffUserViewSet, basename="staff-user")

urlpatterns = router.urls
