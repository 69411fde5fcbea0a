from rest_framework.routers import SimpleRouter

from .views import WebsiteViewSet

router = SimpleRouter()
# An optional slash: `/api/websites/7/reset` as docs/api.md writes it, and `.../reset/` too.
router.trailing_slash = "/?"
router.register("websites", WebsiteViewSet, basename="website")

urlpatterns = router.urls
