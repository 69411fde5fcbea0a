from rest_framework.routers import SimpleRouter

from .views import OperationViewSet

router = SimpleRouter()
# An optional slash: `/api/operations/7/retry` as docs/api.md writes it, and `.../retry/` too.
router.trailing_slash = "/?"
router.register("operations", OperationViewSet, basename="operation")

urlpatterns = router.urls
