from rest_framework.routers import SimpleRouter

from .views import OperationViewSet, ServerViewSet

router = SimpleRouter()
# An optional slash: `/api/operations/7/retry` as docs/api.md writes it, and `.../retry/` too.
router.trailing_slash = "/?"
router.register("operations", OperationViewSet, basename="operation")
router.register("servers", ServerViewSet, basename="server")

urlpatterns = router.urls
