from rest_framework.routers import SimpleRouter

from .views import InvitationViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("invitations", InvitationViewSet, basename="invitation")

urlpatterns = router.urls
