from rest_framework.routers import SimpleRouter

from .views import ReferralCodeViewSet, TierViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("tiers", TierViewSet, basename="tier")
router.register("referral-codes", ReferralCodeViewSet, basename="referral-code")

urlpatterns = router.urls
