from rest_framework.routers import SimpleRouter

from .views import ServerViewSet

router = SimpleRouter()
# An optional slash, as the lane's routes have: `/api/servers/b` and `/api/servers/b/`.
router.trailing_slash = "/?"
router.register("servers", ServerViewSet, basename="server")

urlpatterns = router.urls
